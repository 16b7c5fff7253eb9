// Detached server processes and their pid files. A pid file records the exact argv
// that was started, and nothing is signalled unless /proc/<pid>/cmdline still shows
// that argv: a pid reused by another program is never killed.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

/** A process with this pid exists (EPERM: it does, but belongs to another user). */
export function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface PidRecord {
  pid: number;
  argv: string[];
  startedAt: string;
  /** Whatever the server module wants to remember (ports, endpoint, version). */
  info: Record<string, unknown>;
}

export interface LaunchSpec {
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Receives the process's stdout and stderr (appended). */
  logFile: string;
}

export async function readPidFile(file: string): Promise<PidRecord | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  try {
    const record = JSON.parse(text) as PidRecord;
    return Number.isInteger(record.pid) && Array.isArray(record.argv) ? record : undefined;
  } catch {
    return undefined; // a torn write: treat as no record
  }
}

async function writePidFile(file: string, record: PidRecord): Promise<void> {
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, `${JSON.stringify(record, null, 2)}\n`);
  await rename(temp, file);
}

export async function removePidFile(file: string): Promise<void> {
  await rm(file, { force: true });
}

/** The argv a process runs with, or undefined when there is no such live process. */
export async function procArgv(pid: number): Promise<string[] | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ...": comm may hold spaces and parentheses, so split after the last ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return undefined; // exited, not yet reaped
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    if (cmdline === '') return undefined;
    return cmdline.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

/** Same program and arguments; argv[0] may differ by directory (PATH lookup). */
export function sameArgv(recorded: readonly string[], actual: readonly string[]): boolean {
  if (recorded.length !== actual.length || recorded.length === 0) return false;
  if (basename(recorded[0]!) !== basename(actual[0]!)) return false;
  return recorded.every((arg, i) => i === 0 || arg === actual[i]);
}

/** True when the pid file's process is alive and still runs the recorded command line. */
export async function isOurs(record: PidRecord): Promise<boolean> {
  const argv = await procArgv(record.pid);
  return argv !== undefined && sameArgv(record.argv, argv);
}

/**
 * Starts a process in its own session (it outlives this one, and its process group
 * is its pid), writes the pid file, and resolves once the exec succeeded.
 */
export async function launch(spec: LaunchSpec, pidFile: string, info: Record<string, unknown>): Promise<PidRecord> {
  await mkdir(dirname(spec.logFile), { recursive: true });
  await mkdir(dirname(pidFile), { recursive: true });
  const out = openSync(spec.logFile, 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env,
      detached: true,
      stdio: ['ignore', out, out],
    });
    await new Promise<void>((resolveSpawn, rejectSpawn) => {
      child.once('spawn', resolveSpawn);
      child.once('error', rejectSpawn);
    });
    child.unref();
    const record: PidRecord = {
      pid: child.pid!,
      argv: [spec.command, ...spec.args],
      startedAt: new Date().toISOString(),
      info,
    };
    await writePidFile(pidFile, record);
    return record;
  } finally {
    closeSync(out);
  }
}

async function processGroup(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[2]); // state ppid pgrp ...
  } catch {
    return undefined;
  }
}

function signal(pid: number, group: boolean, sig: NodeJS.Signals): void {
  try {
    process.kill(group ? -pid : pid, sig);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
  }
}

export type StopOutcome = 'not-running' | 'stopped' | 'killed';

/**
 * SIGTERM, then SIGKILL after `graceMs`, to the process group the server leads (it was
 * started as a session leader). Resolves when the process is gone. The pid file is
 * removed in every case where the recorded process no longer runs.
 */
export async function stopProcess(pidFile: string, graceMs: number): Promise<StopOutcome> {
  const record = await readPidFile(pidFile);
  if (record === undefined) return 'not-running';
  if (!(await isOurs(record))) {
    await removePidFile(pidFile);
    return 'not-running';
  }
  const group = (await processGroup(record.pid)) === record.pid;
  signal(record.pid, group, 'SIGTERM');
  let outcome: StopOutcome = 'stopped';
  if (!(await waitForExit(record, graceMs))) {
    signal(record.pid, group, 'SIGKILL');
    outcome = 'killed';
    if (!(await waitForExit(record, 10_000))) {
      throw new Error(`process ${record.pid} (${basename(record.argv[0] ?? '?')}) survived SIGKILL`);
    }
  }
  await removePidFile(pidFile);
  await waitForReaping(record.pid, 3_000);
  return outcome;
}

/** An exited process stays a zombie until its parent (often init) reaps it; let `ps` show it gone. */
async function waitForReaping(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (existsSync(`/proc/${pid}`) && (await procArgv(pid)) === undefined && Date.now() < deadline) await delay(50);
}

async function waitForExit(record: PidRecord, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!(await isOurs(record))) return true;
    if (Date.now() >= deadline) return false;
    await delay(100);
  }
}

/**
 * Live processes (other than this one) with `arg` among their arguments: servers of
 * this stack whose pid file was lost. Linux /proc only.
 */
export async function processesWithArg(arg: string): Promise<Array<{ pid: number; argv: string[] }>> {
  const found: Array<{ pid: number; argv: string[] }> = [];
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    const argv = await procArgv(pid);
    if (argv !== undefined && argv.slice(1).includes(arg)) found.push({ pid, argv });
  }
  return found;
}

/** SIGTERM, then SIGKILL after `graceMs`, to a process found by its command line. */
export async function stopStray(pid: number, argv: string[], graceMs: number): Promise<StopOutcome> {
  const record: PidRecord = { pid, argv, startedAt: '', info: {} };
  if (!(await isOurs(record))) return 'not-running';
  signal(pid, false, 'SIGTERM');
  if (await waitForExit(record, graceMs)) {
    await waitForReaping(pid, 3_000);
    return 'stopped';
  }
  signal(pid, false, 'SIGKILL');
  await waitForExit(record, 10_000);
  await waitForReaping(pid, 3_000);
  return 'killed';
}
