// Starts mirrorlog's producer and applier as the operator would (the CLI, one process
// each), on the run's own topic, key prefix and state directories, logging at warn level
// to files under the work directory.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StackConfig } from '../helpers/stack.ts';
import { freePort } from './http-probe.ts';
import { ServiceProcess } from './process-runner.ts';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));
/**
 * The mirrorlog CLI, compiled (`npm run build`, done by `buildCli`): the services run as
 * in production, without tsx's start-up. MIRRORLOG_BENCH_CLI points the harness at
 * another one (to test the harness itself).
 */
const CLI = process.env.MIRRORLOG_BENCH_CLI ?? join(REPO_ROOT, 'dist', 'services', 'cli', 'main.js');

/** Compiles the CLI the services run from, unless MIRRORLOG_BENCH_CLI names one. */
export function buildCli(): void {
  if (process.env.MIRRORLOG_BENCH_CLI !== undefined) return;
  const result = spawnSync('npm', ['run', '-s', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  if (result.status !== 0) throw new Error('npm run build failed: the benchmark runs the compiled services');
}

export interface RunNames {
  /** `bench-<timestamp>`: prefix of the topic, key prefix, source id and replica names. */
  runId: string;
  topic: string;
  s3Prefix: string;
}

export function runNames(now = new Date()): RunNames {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').replace(/\..*$/, '');
  const runId = `bench-${stamp}`;
  return { runId, topic: runId, s3Prefix: `${runId}/` };
}

export interface Service {
  process: ServiceProcess;
  port: number;
}

export class ServiceLauncher {
  readonly #stack: StackConfig;
  readonly #names: RunNames;
  readonly #logDir: string;
  /** Extra arguments for node itself (e.g. --cpu-prof). */
  readonly #nodeArgs: readonly string[];
  #launches = 0;
  /** Every service process started, in order. */
  readonly launched: { label: string; pid: number }[] = [];

  constructor(stack: StackConfig, names: RunNames, logDir: string, nodeArgs: readonly string[] = []) {
    this.#stack = stack;
    this.#names = names;
    this.#logDir = logDir;
    this.#nodeArgs = nodeArgs;
    mkdirSync(logDir, { recursive: true });
  }

  get sourceId(): string {
    return this.#names.runId;
  }

  replicaName(suffix: string): string {
    return `${this.#names.runId}-${suffix}`;
  }

  #common(stateDir: string, port: number): string[] {
    return [
      '--brokers',
      this.#stack.brokers.join(','),
      '--s3-endpoint',
      this.#stack.s3Endpoint,
      '--bucket',
      this.#stack.bucket,
      '--topic',
      this.#names.topic,
      '--s3-prefix',
      this.#names.s3Prefix,
      '--state-dir',
      stateDir,
      '--metrics-port',
      String(port),
      '--log-level',
      'warn',
    ];
  }

  /** Credentials go through the environment, never the command line. */
  #env(): NodeJS.ProcessEnv {
    return {
      ...process.env,
      MIRRORLOG_S3_ACCESS_KEY: this.#stack.s3.accessKey,
      MIRRORLOG_S3_SECRET_KEY: this.#stack.s3.secretKey,
    };
  }

  async #start(kind: string, label: string, args: string[], stateDir: string): Promise<Service> {
    mkdirSync(stateDir, { recursive: true });
    const port = await freePort();
    this.#launches++;
    const logPath = join(this.#logDir, `${String(this.#launches).padStart(2, '0')}-${label}.log`);
    const process_ = new ServiceProcess({
      name: label,
      command: process.execPath,
      args: [...this.#nodeArgs, CLI, kind, ...args, ...this.#common(stateDir, port)],
      env: this.#env(),
      cwd: REPO_ROOT,
      logPath,
    });
    this.launched.push({ label, pid: process_.pid });
    return { process: process_, port };
  }

  startProducer(options: { root: string; stateDir: string; label?: string }): Promise<Service> {
    return this.#start(
      'producer',
      options.label ?? 'producer',
      ['--root', options.root, '--source', this.sourceId],
      options.stateDir,
    );
  }

  startApplier(options: { target: string; replica: string; stateDir: string; label?: string }): Promise<Service> {
    mkdirSync(options.target, { recursive: true });
    return this.#start(
      'applier',
      options.label ?? `applier-${options.replica}`,
      ['--target', options.target, '--replica', options.replica],
      options.stateDir,
    );
  }
}
