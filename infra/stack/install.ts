// Shared install machinery: finding the tools a build needs, running a build step with
// its output kept in a log, and installing into a versioned cache directory atomically
// (build into a sibling temp directory, then rename) so an interrupted install is
// never mistaken for a complete one.
import { spawn } from 'node:child_process';
import { constants, createWriteStream } from 'node:fs';
import { access, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { CliError } from '../../services/shared/errors.ts';
import { processExists } from './processes.ts';

/** A file's size in bytes, 0 when it does not exist. */
export async function fileSize(file: string): Promise<number> {
  return stat(file).then(
    (s) => s.size,
    () => 0,
  );
}

/** The absolute path of an executable on PATH, or undefined. */
export async function findOnPath(name: string, path: string = process.env.PATH ?? ''): Promise<string | undefined> {
  for (const dir of path.split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      await access(candidate, constants.X_OK);
      if ((await stat(candidate)).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** Like findOnPath, but a missing tool is a one-line error that says what to install. */
export async function requireTool(name: string, purpose: string, install: string): Promise<string> {
  const found = await findOnPath(name);
  if (found === undefined)
    throw new CliError(`'${name}' not found on PATH: ${purpose} needs it; install ${install}`, 1);
  return found;
}

/** Last lines of a text file from byte `from` on, for error messages (empty when unreadable). */
export async function tailFile(file: string, lines = 30, from = 0): Promise<string> {
  try {
    const bytes = await readFile(file);
    const text = bytes.subarray(from <= bytes.length ? from : 0).toString('utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

export interface StepOptions {
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** Everything the command prints is appended here. */
  logFile: string;
  /** Called with each output line (for progress counting). */
  onLine?: (line: string) => void;
}

/** Runs one build command; a non-zero exit is an error that quotes the end of its output. */
export async function runStep(command: string, args: string[], options: StepOptions): Promise<void> {
  const log = createWriteStream(options.logFile, { flags: 'a' });
  log.write(`$ ${command} ${args.join(' ')}\n`);
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let partial = '';
  const onData = (chunk: Buffer): void => {
    log.write(chunk);
    if (options.onLine === undefined) return;
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) options.onLine(line);
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const code = await new Promise<number | null>((resolveExit, rejectExit) => {
    child.once('error', rejectExit);
    child.once('close', (exitCode) => resolveExit(exitCode));
  });
  await new Promise<void>((resolveEnd) => log.end(resolveEnd));
  if (code !== 0) {
    const tail = await tailFile(options.logFile, 25);
    throw new Error(
      `${command} ${args.slice(0, 3).join(' ')} failed (exit ${code}); ` +
        `its output ends with:\n${tail}\n(full log: ${options.logFile})`,
    );
  }
}

const COMPLETE = '.complete';

/** True when `dir` holds a finished install. */
export async function isInstalled(dir: string): Promise<boolean> {
  try {
    await access(join(dir, COMPLETE));
    return true;
  } catch {
    return false;
  }
}

/**
 * Installs into `finalDir` once. `build` fills a fresh temp directory beside it; only a
 * build that returns is renamed into place. Temp directories of installs whose process
 * is gone are removed first. When two installs race, the first rename wins and the
 * other's work is discarded.
 */
export async function installOnce(finalDir: string, build: (tempDir: string) => Promise<void>): Promise<void> {
  if (await isInstalled(finalDir)) return;
  const parent = join(finalDir, '..');
  await mkdir(parent, { recursive: true });
  await removeAbandoned(parent, finalDir);
  const tempDir = `${finalDir}.partial-${process.pid}`;
  await rm(tempDir, { recursive: true, force: true });
  await mkdir(tempDir, { recursive: true });
  try {
    await build(tempDir);
    await writeFile(join(tempDir, COMPLETE), `${new Date().toISOString()}\n`);
    await rename(tempDir, finalDir); // fails (ENOTEMPTY) if another install got there first
  } catch (error) {
    if (await isInstalled(finalDir)) {
      await rm(tempDir, { recursive: true, force: true });
      return; // another install finished first
    }
    // the failed temp dir stays for a look at its log; the next install removes it
    throw error;
  }
}

async function removeAbandoned(parent: string, finalDir: string): Promise<void> {
  const prefix = `${finalDir.slice(parent.length + 1)}.partial-`;
  for (const name of await readdir(parent)) {
    if (!name.startsWith(prefix)) continue;
    const pid = Number(name.slice(prefix.length));
    if (Number.isInteger(pid) && pid !== process.pid && processExists(pid)) continue;
    await rm(join(parent, name), { recursive: true, force: true });
  }
}

/** `1m05s` style durations for progress lines. */
export function formatElapsed(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  return `${Math.floor(seconds / 60)}m${String(seconds % 60).padStart(2, '0')}s`;
}
