// A description of the machine a run happened on, for the report.
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { nowMs } from './clock.ts';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';

export interface MachineInfo {
  description: string;
  cpu_model: string;
  cores: number;
  memory_gib: number;
  os: string;
  kernel: string;
  node: string;
  work_fs: string;
  /** 1-minute load average when the run started: other work on the machine skews absolute times. */
  load_at_start: number;
  /** Microseconds to create one empty file in the work directory at the start (see probeCreateCost). */
  file_create_us: number;
}

/**
 * Creates `count` empty files in a fresh directory under `dir` and returns the mean cost
 * of one create in microseconds. On this box's ext4 a create normally costs well under 100 µs, but
 * for minutes after many files were deleted the inode allocator scans past recently
 * deleted inodes (recently_deleted() in find_inode_bit) and a create can take ~1 ms:
 * every figure that creates files (the replica, rsync's copy, the tree itself) is then slow.
 */
export function probeCreateCost(dir: string, count = 1000): number {
  const probe = join(dir, '.create-probe');
  mkdirSync(probe, { recursive: true });
  const started = nowMs();
  for (let i = 0; i < count; i++) closeSync(openSync(join(probe, `p${i}`), 'wx'));
  const us = ((nowMs() - started) * 1000) / count;
  rmSync(probe, { recursive: true, force: true });
  return Math.round(us);
}

function osName(): string {
  try {
    const text = readFileSync('/etc/os-release', 'utf8');
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(text)?.[1] ?? 'Linux';
  } catch {
    return 'Linux';
  }
}

function filesystemOf(dir: string): string {
  const df = spawnSync('df', ['-T', '-P', dir], { encoding: 'utf8' });
  const line = df.stdout?.trim().split('\n')[1];
  if (df.status !== 0 || line === undefined) return 'unknown';
  const [device, type] = line.split(/\s+/);
  return `${type} on ${device}`;
}

export function describeMachine(workDir: string): MachineInfo {
  const model = cpus()[0]?.model.trim().replace(/\s+/g, ' ') ?? 'unknown CPU';
  const cores = availableParallelism();
  const memory = Math.round((totalmem() / 2 ** 30) * 10) / 10;
  const os = osName();
  const kernel = release();
  const fs = filesystemOf(workDir);
  const createUs = probeCreateCost(workDir);
  return {
    description:
      `${cores} cores (${model}), ${memory} GiB RAM, ${os}, Linux ${kernel}, Node ${process.version}, ` +
      `work dir on ${fs}; Kafka and S3 on the same machine; ` +
      `load average ${(loadavg()[0] ?? 0).toFixed(2)} at start; ${createUs} µs per file create`,
    cpu_model: model,
    cores,
    memory_gib: memory,
    os,
    kernel,
    node: process.version,
    work_fs: fs,
    load_at_start: Math.round((loadavg()[0] ?? 0) * 100) / 100,
    file_create_us: createUs,
  };
}
