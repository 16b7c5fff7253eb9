// External programs the benchmark compares against, installed from Debian's apt when
// missing (printing what apt does), and a way to run and time them.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { nowMs } from './clock.ts';
import { info } from './progress.ts';

export function hasCommand(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

export interface RunResult {
  code: number | null;
  ms: number;
  stdout: string;
  stderr: string;
}

const running = new Set<ChildProcess>();

/** Stops the commands still running (the benchmark was interrupted): a baseline rsync must not outlive it. */
export function stopRunningCommands(): void {
  for (const child of running) child.kill('SIGTERM');
}

/** Runs a command to completion; `echo` shows its output as it comes (prefixed). */
export function run(
  command: string,
  args: readonly string[],
  options: { echo?: boolean; stdoutTo?: (chunk: Buffer) => void; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const started = nowMs();
    const child = spawn(command, [...args], { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env });
    running.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const echo = (chunk: Buffer): void => {
      for (const line of chunk.toString('utf8').split(/[\r\n]+/)) {
        if (line.trim() === '' || /^\(Reading database \.\.\. \d+%$/.test(line)) continue; // apt's progress
        process.stdout.write(`    | ${line}\n`);
      }
    };
    child.stdout.on('data', (chunk: Buffer) => {
      if (options.stdoutTo !== undefined) options.stdoutTo(chunk);
      else out.push(chunk);
      if (options.echo === true) echo(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err.push(chunk);
      if (options.echo === true) echo(chunk);
    });
    child.once('error', (error) => {
      running.delete(child);
      reject(error);
    });
    child.once('close', (code) => {
      running.delete(child);
      resolve({
        code,
        ms: nowMs() - started,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    });
  });
}

function asRoot(args: string[]): [string, string[]] {
  if (process.getuid?.() === 0) return [args[0]!, args.slice(1)];
  return ['sudo', ['-n', ...args]];
}

let aptUpdated = false;

/** Makes `command` available, installing Debian package `pkg` with apt-get if it is missing. */
export async function ensureCommand(command: string, pkg: string): Promise<void> {
  if (hasCommand(command)) return;
  info(`${command} is not installed: installing Debian package '${pkg}' with apt-get`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = async (): Promise<RunResult> => {
    const [cmd, args] = asRoot(['apt-get', 'install', '-y', '--no-install-recommends', pkg]);
    info(`$ ${cmd} ${args.join(' ')}`);
    return run(cmd, args, { echo: true, env });
  };
  let result = await install();
  if (result.code !== 0 && !aptUpdated) {
    aptUpdated = true;
    const [cmd, args] = asRoot(['apt-get', 'update']);
    info(`apt-get install failed (exit ${result.code}); refreshing the package lists: $ ${cmd} ${args.join(' ')}`);
    await run(cmd, args, { echo: true, env });
    result = await install();
  }
  if (result.code !== 0 || !hasCommand(command)) {
    throw new Error(
      `could not install ${pkg} (apt-get exit ${result.code}); install it by hand: apt-get install -y ${pkg}`,
    );
  }
  info(`${command} installed`);
}

/** `sync`: writes back dirty pages (e.g. of a tree just written) so they do not land in the next timed stage. */
export async function flushWrites(): Promise<number> {
  const result = await run('sync', []);
  return result.ms;
}
