// What applying file writes in parallel could gain here: the applier's per-file sequence
// (create a temp file, write, fchmod, futimes, close, rename over the name) on the main
// thread, against the same sequence through libuv's thread pool with K files in flight.
// `UV_THREADPOOL_SIZE=N node --import tsx test/bench/file-create-concurrency.ts [files] [dir]`
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

const files = Number(process.argv[2] ?? 20_000);
const base = mkdtempSync(join(process.argv[3] ?? tmpdir(), 'mirrorlog-create-'));
const DIRS = Math.max(1, Math.floor(files / 100));
const contents = Array.from({ length: 64 }, (_, i) => randomBytes(2000 + i * 60));
const mtime = new Date('2026-01-01T00:00:00Z');

function syncOne(dir: string, i: number): void {
  const temp = join(dir, `.f${i}.tmp`);
  const fd = fs.openSync(temp, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL, 0o600);
  fs.writeSync(fd, contents[i % 64]!);
  fs.fchmodSync(fd, 0o644);
  fs.futimesSync(fd, mtime, mtime);
  fs.closeSync(fd);
  fs.renameSync(temp, join(dir, `f${i}.html`));
}

async function asyncOne(dir: string, i: number): Promise<void> {
  const temp = join(dir, `.f${i}.tmp`);
  const handle = await fs.promises.open(
    temp,
    fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL,
    0o600,
  );
  try {
    await handle.write(contents[i % 64]!);
    await handle.chmod(0o644);
    await handle.utimes(mtime, mtime);
  } finally {
    await handle.close();
  }
  await fs.promises.rename(temp, join(dir, `f${i}.html`));
}

function prepare(name: string): string[] {
  const root = join(base, name);
  const dirs = Array.from({ length: DIRS }, (_, d) => join(root, `d${d}`));
  for (const dir of dirs) fs.mkdirSync(dir, { recursive: true });
  return dirs;
}

async function measure(name: string, run: (dirs: string[]) => Promise<void> | void): Promise<void> {
  const dirs = prepare(name);
  const cpu = process.cpuUsage();
  const started = performance.now();
  await run(dirs);
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  process.stdout.write(
    `${name.padEnd(22)} ${Math.round(files / (ms / 1000))
      .toLocaleString('en-US')
      .padStart(7)} files/s  (${(ms / 1000).toFixed(2)} s; process CPU user ${(used.user / 1e6).toFixed(2)} s, ` +
      `system ${(used.system / 1e6).toFixed(2)} s)\n`,
  );
}

process.stdout.write(
  `${files.toLocaleString('en-US')} files of 2-6 KB in ${DIRS} directories under ${base}, ` +
    `UV_THREADPOOL_SIZE=${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}\n`,
);
try {
  await measure('main thread', (dirs) => {
    for (let i = 0; i < files; i++) syncOne(dirs[i % DIRS]!, i);
  });
  for (const inFlight of [1, 4, 16, 64]) {
    await measure(`pool, ${inFlight} in flight`, async (dirs) => {
      let next = 0;
      const lane = async () => {
        for (let i = next++; i < files; i = next++) await asyncOne(dirs[i % DIRS]!, i);
      };
      await Promise.all(Array.from({ length: inFlight }, lane));
    });
  }
} finally {
  rmSync(base, { recursive: true, force: true });
}
