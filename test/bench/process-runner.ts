// Starts a service process with its output in a log file, samples its memory, and stops
// it with SIGTERM (SIGKILL after a grace period, reported as a failure). Every process
// started here is killed if the benchmark itself exits first.
import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { nowMs } from './clock.ts';
import { RssSampler } from './rss-sampler.ts';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface StopResult extends ExitStatus {
  /** From SIGTERM to exit. */
  stopMs: number;
  /** SIGTERM was not enough: the process was killed. */
  killed: boolean;
}

const alive = new Set<number>();
process.on('exit', () => {
  for (const pid of alive) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

export class ServiceProcess {
  readonly name: string;
  readonly pid: number;
  /** nowMs() right before spawn. */
  readonly spawnedAt: number;
  readonly logPath: string;
  readonly rss: RssSampler;
  readonly exit: Promise<ExitStatus>;
  #exitStatus: ExitStatus | undefined;

  constructor(options: {
    name: string;
    command: string;
    args: readonly string[];
    env?: NodeJS.ProcessEnv;
    cwd?: string;
    logPath: string;
  }) {
    this.name = options.name;
    this.logPath = options.logPath;
    const log = openSync(options.logPath, 'a');
    this.spawnedAt = nowMs();
    const child = spawn(options.command, [...options.args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    if (child.pid === undefined) throw new Error(`${options.name}: could not start ${options.command}`);
    this.pid = child.pid;
    alive.add(this.pid);
    this.rss = new RssSampler(this.pid);
    this.exit = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        alive.delete(this.pid);
        this.rss.stop();
        this.#exitStatus = { code, signal };
        resolve(this.#exitStatus);
      });
      child.once('error', () => {
        alive.delete(this.pid);
        this.rss.stop();
        this.#exitStatus = { code: null, signal: null };
        resolve(this.#exitStatus);
      });
    });
  }

  get exitStatus(): ExitStatus | undefined {
    return this.#exitStatus;
  }

  /** Why the process is no longer running, or undefined while it runs. */
  exitReason(): string | undefined {
    const status = this.#exitStatus;
    if (status === undefined) return undefined;
    return `${this.name} exited (${status.signal ?? `code ${status.code}`}); last log lines:\n${this.logTail(15)}`;
  }

  /** SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs = 30_000): Promise<StopResult> {
    const started = nowMs();
    if (this.#exitStatus !== undefined) return { ...this.#exitStatus, stopMs: 0, killed: false };
    this.rss.sample();
    process.kill(this.pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), graceMs);
    });
    const first = await Promise.race([this.exit, timedOut]);
    clearTimeout(timer);
    if (first !== 'timeout') return { ...first, stopMs: nowMs() - started, killed: false };
    process.kill(this.pid, 'SIGKILL');
    const status = await this.exit;
    return { ...status, stopMs: nowMs() - started, killed: true };
  }

  logTail(lines: number): string {
    try {
      const text = readFileSync(this.logPath, 'utf8').trimEnd();
      return text
        .split('\n')
        .slice(-lines)
        .map((line) => `    | ${line.length > 400 ? `${line.slice(0, 400)}…` : line}`)
        .join('\n');
    } catch {
      return '    | (no log)';
    }
  }
}
