// One stack command at a time per stack directory: `up` from a test runner and a
// developer's `down` must not interleave. The lock file holds the owner's pid; a lock
// whose owner is gone is taken over.
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { processExists } from './processes.ts';

const LOCK_FILE = 'stack.lock';

async function tryAcquire(file: string): Promise<number | undefined> {
  try {
    const handle = await open(file, 'wx');
    await handle.writeFile(`${process.pid}\n`);
    await handle.close();
    return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  if (!Number.isInteger(owner) || owner <= 0 || owner === process.pid || !processExists(owner)) {
    await rm(file, { force: true });
    return tryAcquire(file);
  }
  return owner;
}

/** Callers in this process queue here first; the file lock is between processes. */
const inProcess = new Map<string, Promise<unknown>>();

/** Runs `fn` holding the stack directory's lock, waiting up to `timeoutMs` for it. */
export async function withStackLock<T>(
  stackDir: string,
  timeoutMs: number,
  log: (line: string) => void,
  fn: () => Promise<T>,
): Promise<T> {
  const previous = inProcess.get(stackDir) ?? Promise.resolve();
  const mine = previous.catch(() => undefined).then(() => withFileLock(stackDir, timeoutMs, log, fn));
  const settled = mine.catch(() => undefined);
  inProcess.set(stackDir, settled);
  void settled.then(() => {
    if (inProcess.get(stackDir) === settled) inProcess.delete(stackDir);
  });
  return mine;
}

async function withFileLock<T>(
  stackDir: string,
  timeoutMs: number,
  log: (line: string) => void,
  fn: () => Promise<T>,
): Promise<T> {
  await mkdir(stackDir, { recursive: true });
  const file = join(stackDir, LOCK_FILE);
  const deadline = Date.now() + timeoutMs;
  let told = false;
  for (;;) {
    const owner = await tryAcquire(file);
    if (owner === undefined) break;
    if (!told) {
      log(`waiting for another mirrorlog stack command (pid ${owner}) to finish`);
      told = true;
    }
    if (Date.now() >= deadline)
      throw new Error(`the stack in ${stackDir} stayed locked by pid ${owner} for ${Math.round(timeoutMs / 1000)} s`);
    await delay(250);
  }
  try {
    return await fn();
  } finally {
    await rm(file, { force: true });
  }
}
