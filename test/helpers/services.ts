// Runs mirrorlog services as real processes (`node bin/mirrorlog.js <service> ...`), as
// an operator would: for end-to-end tests that kill, restart and time them.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import { defer } from './cleanup.ts';
import { tempDir } from './producer.ts';
import { freshPrefix, freshTopic, stackConfig, waitFor, type StackConfig } from './stack.ts';

const BIN = fileURLToPath(new URL('../../bin/mirrorlog.js', import.meta.url));

export type CliResult = { code: number | null; stdout: string; stderr: string };

/** Runs one `mirrorlog` command to its end (verify, restore, gc...). */
export function runCli(args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export type ServiceProcess = {
  readonly name: string;
  readonly port: number;
  readonly output: string[];
  child: ChildProcess;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  waitReady(timeoutMs?: number): Promise<void>;
  metric(name: string): Promise<number | undefined>;
  kill(signal?: NodeJS.Signals): Promise<number | string>;
};

/** A topic and the stack's store as flags: what the services of one tree share but their brokers. */
export function topicStoreFlags(
  topic: string,
  s3Prefix: string,
  stack: StackConfig = stackConfig(),
  partitions = 6,
): string[] {
  return [
    '--s3-endpoint',
    stack.s3Endpoint,
    '--bucket',
    stack.bucket,
    '--topic',
    topic,
    '--s3-prefix',
    s3Prefix,
    '--partitions',
    String(partitions),
  ];
}

/** The stack's endpoints as flags, plus a topic and bucket prefix. */
export function stackFlags(
  topic: string,
  s3Prefix: string,
  stack: StackConfig = stackConfig(),
  partitions = 6,
): string[] {
  return ['--brokers', stack.brokers.join(','), ...topicStoreFlags(topic, s3Prefix, stack, partitions)];
}

export async function startService(
  t: TestContext,
  name: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<ServiceProcess> {
  const port = await freePort();
  // To chase a rare failure: MIRRORLOG_TEST_LOG_DIR keeps every service's whole output there,
  // at MIRRORLOG_TEST_LOG_LEVEL (warn otherwise: the tests read only the last lines).
  const level = process.env.MIRRORLOG_TEST_LOG_LEVEL ?? 'warn';
  const child = spawn(process.execPath, [BIN, ...args, '--metrics-port', String(port), '--log-level', level], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logDir = process.env.MIRRORLOG_TEST_LOG_DIR;
  if (logDir !== undefined) fs.mkdirSync(logDir, { recursive: true });
  const logFile = logDir === undefined ? undefined : path.join(logDir, `${name}-${port}-${child.pid}.log`);
  const output: string[] = [];
  const keep = (chunk: Buffer) => {
    if (logFile !== undefined) fs.appendFileSync(logFile, chunk);
    output.push(chunk.toString());
    if (output.length > 200) output.splice(0, output.length - 200);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | string>((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')),
  );
  let done = false;
  void exited.then(() => (done = true));
  const service: ServiceProcess = {
    name,
    port,
    output,
    child,
    exited,
    async waitReady(timeoutMs = 120_000) {
      let lastAnswer = 'no answer from /readyz';
      try {
        await waitFor(
          `${name} to be ready on port ${port}`,
          async () => {
            if (done) throw new Error(`${name} exited before it was ready:\n${output.join('').slice(-3000)}`);
            const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
            if (response === undefined) return undefined;
            lastAnswer = `/readyz ${response.status}: ${(await response.text()).slice(0, 500)}`;
            return response.status === 200 ? true : undefined;
          },
          timeoutMs,
          100,
        );
      } catch (error) {
        // Why it never got ready: what it said last, and what it logged.
        const said = `${(error as Error).message}\n${lastAnswer}\n${name} output:\n${output.join('').slice(-3000)}`;
        throw new Error(said, { cause: error });
      }
    },
    async metric(metricName: string) {
      const text = await fetchMetrics(port);
      return text === undefined ? undefined : metricTotal(text, metricName);
    },
    async kill(signal: NodeJS.Signals = 'SIGTERM') {
      if (!done) child.kill(signal);
      return exited;
    },
  };
  defer(t, async () => {
    if (!done) {
      const began = Date.now();
      child.kill('SIGTERM');
      void exited.then(
        () => process.env.MIRRORLOG_TEST_DEBUG && process.stderr.write(`${name} stopped in ${Date.now() - began} ms\n`),
      );
      let timer: NodeJS.Timeout | undefined;
      const stopped = await Promise.race([
        exited,
        new Promise((resolve) => (timer = setTimeout(() => resolve('timeout'), 20_000))),
      ]);
      clearTimeout(timer);
      if (stopped === 'timeout') child.kill('SIGKILL');
      await exited;
    }
  });
  return service;
}

export function producerArgs(
  root: string,
  stateDir: string,
  topic: string,
  s3Prefix: string,
  stack?: StackConfig,
  source = 'e2e',
): string[] {
  return [
    'producer',
    '--root',
    root,
    '--state-dir',
    stateDir,
    '--source',
    source,
    ...stackFlags(topic, s3Prefix, stack),
  ];
}

/** --allow-setid: the workloads chmod files 02755 and compare the replica with the source bit for bit. */
export function applierArgs(
  target: string,
  stateDir: string,
  replica: string,
  topic: string,
  s3Prefix: string,
  stack?: StackConfig,
): string[] {
  return [
    'applier',
    '--target',
    target,
    '--state-dir',
    stateDir,
    '--replica',
    replica,
    '--allow-setid',
    ...stackFlags(topic, s3Prefix, stack),
  ];
}

async function fetchMetrics(port: number): Promise<string | undefined> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => undefined);
  return response === undefined || !response.ok ? undefined : response.text();
}

/** The sum of a metric's series in a /metrics text; undefined when it has none. */
function metricTotal(text: string, metricName: string): number | undefined {
  let total: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith(metricName) && (line[metricName.length] === ' ' || line[metricName.length] === '{')) {
      total = (total ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

export type MirrorPair = {
  source: string;
  replica: string;
  topic: string;
  prefix: string;
  producer: ServiceProcess;
  applier: ServiceProcess;
  /** What both services say of their progress, and their last output: for a wait that timed out. */
  explain: () => Promise<string>;
};

const PRODUCER_PROGRESS = [
  'events_published_total',
  'hints_queued',
  'paths_in_flight',
  'pending_publish',
  'hints_dropped_total',
  'reconcile_running',
  'errors_total',
];
const APPLIER_PROGRESS = ['events_total', 'queued_records', 'lag_records', 'dead_letters_total', 'stalls_total'];

/** A service's progress metrics on one line, and the tail of what it logged. */
async function explainService(service: ServiceProcess, metrics: string[]): Promise<string> {
  const text = (await fetchMetrics(service.port)) ?? '';
  const values = metrics.map(
    (metric) => `${metric}=${String(metricTotal(text, `mirrorlog_${service.name}_${metric}`))}`,
  );
  return `${service.name}: ${values.join(' ')}\n${service.output.join('').slice(-2000)}`;
}

/**
 * A producer and an applier as processes on fresh directories, topic and prefix, both
 * ready; against the default stack, or the given one (a private instance).
 */
export async function startMirrorPair(
  t: TestContext,
  replicaName: string,
  stack: StackConfig = stackConfig(),
): Promise<MirrorPair> {
  const source = tempDir(t, 'source');
  const replica = tempDir(t, 'replica');
  const topic = freshTopic(t, stack.brokers);
  const prefix = freshPrefix();
  const producer = await startService(t, 'producer', producerArgs(source, tempDir(t, 'pstate'), topic, prefix, stack));
  await producer.waitReady();
  const applier = await startService(
    t,
    'applier',
    applierArgs(replica, tempDir(t, 'astate'), replicaName, topic, prefix, stack),
  );
  await applier.waitReady();
  const explain = async () =>
    `${await explainService(producer, PRODUCER_PROGRESS)}\n${await explainService(applier, APPLIER_PROGRESS)}`;
  return { source, replica, topic, prefix, producer, applier, explain };
}
