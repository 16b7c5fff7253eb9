// Integration helpers for the applier: a fresh compacted topic and object prefix per
// test, content put in the real S3 store, records produced with the real codec and
// partitioner, an applier started in-process or as a process (stopped after the test),
// and snapshots of replica trees to compare.
import { createTopic as createKafkaTopic } from '../../services/shared/topic-admin.ts';
import { defer } from './cleanup.ts';
import { createHash, randomUUID } from 'node:crypto';
import { lstatSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { Kafka, logLevel, type IHeaders, type Producer } from 'kafkajs';
import { pino } from 'pino';
import { encodeRecord } from '../../schemas/codec.ts';
import { applierConfigSchema, type ApplierConfig } from '../../schemas/config.ts';
import type { MirrorEvent } from '../../schemas/event.ts';
import { directoryPartitioner } from '../../schemas/partitioner.ts';
import { relPath } from '../../schemas/rel-path.ts';
import { startApplier, type ApplierHandle, type ApplierTuning } from '../../services/applier/applier.ts';
import { isTempName } from '../../services/applier/domain/temp-name.ts';
import { ensureTopic, eventsTopicConfig } from '../../services/shared/kafka.ts';
import { S3ContentStore } from '../../services/shared/s3-content-store.ts';
import { wholeMs } from './tree.ts';
import { runCli, stackFlags, startService, type CliResult, type ServiceProcess } from './services.ts';
import {
  freshPrefix,
  freshTopic,
  kafkaAdmin,
  stackConfig,
  stackServiceConfig,
  stackStoreOptions,
  type StackConfig,
} from './stack.ts';

export const PARTITIONS = 3;

export interface ApplierStack {
  readonly topic: string;
  readonly prefix: string;
  readonly store: S3ContentStore;
  readonly dir: string;
  /** Puts content in the store; returns what a file event needs. */
  put(content: string | Buffer): Promise<{ hash: string; size: number }>;
  /** Produces events in order (one partition's records keep their order). */
  publish(events: MirrorEvent[]): Promise<void>;
  /** Produces arbitrary records (bad ones), on a given partition. */
  publishRaw(
    records: { key: string | Buffer | null; value: string | Buffer | null; headers?: IHeaders; partition: number }[],
  ): Promise<void>;
  /** Config of an applier on this topic and prefix. */
  config(overrides: Partial<Record<keyof ApplierConfig, unknown>> & { target: string; replica: string }): ApplierConfig;
  /** Starts an applier in-process, stopped after the test. */
  start(config: ApplierConfig, tuning?: Partial<ApplierTuning>): Promise<ApplierHandle>;
  /** The stack's endpoints, this topic, prefix and partitions as CLI flags (of `applier`, `verify`...). */
  cliFlags(): string[];
  /** Runs `mirrorlog applier` as a process to its exit (a refusal at start). */
  runApplierCli(options: ApplierCliOptions): Promise<CliResult>;
  /** Starts `mirrorlog applier` as a process, its health on a free port, stopped after the test. */
  spawnApplier(options: ApplierCliOptions): Promise<ServiceProcess>;
}

export interface ApplierCliOptions {
  readonly target: string;
  readonly stateDir: string;
  readonly replica: string;
  /** Instead of the stack's topic (a mistyped one). */
  readonly topic?: string;
  /** Instead of the stack's endpoints (brokers where nothing listens). */
  readonly endpoints?: StackConfig;
  /** More flags. */
  readonly extra?: readonly string[];
}

let seq = Date.now() * 1000;
export function nextSeq(): number {
  return ++seq;
}

export const events = {
  dir: (path: string, mode = 0o755): MirrorEvent => ({
    source: 'it',
    seq: nextSeq(),
    ts: Date.now(),
    op: 'dir',
    path: relPath(path),
    mode,
  }),
  file: (
    path: string,
    content: { hash: string; size: number },
    mode = 0o644,
    mtimeMs = 1_690_000_000_123,
  ): MirrorEvent => ({
    source: 'it',
    seq: nextSeq(),
    ts: Date.now(),
    op: 'file',
    path: relPath(path),
    mode,
    mtimeMs,
    ...content,
  }),
  symlink: (path: string, target: string): MirrorEvent => ({
    source: 'it',
    seq: nextSeq(),
    ts: Date.now(),
    op: 'symlink',
    path: relPath(path),
    target,
  }),
  delete: (path: string): MirrorEvent => ({
    source: 'it',
    seq: nextSeq(),
    ts: Date.now(),
    op: 'delete',
    path: relPath(path),
  }),
};

/**
 * `deletable`: the topic is created with cleanup.policy=compact,delete, so a test can
 * delete its oldest records (DeleteRecords is refused on compact-only topics), as
 * retention would. `topicConfig`: settings of the events topic other than mirrorlog's.
 */
export async function applierStack(
  t: TestContext,
  options: { deletable?: boolean; topicConfig?: Record<string, string> } = {},
): Promise<ApplierStack> {
  const topic = freshTopic(t);
  const prefix = freshPrefix();
  const admin = await kafkaAdmin(t);
  const historyWindowMs = 7 * 24 * 3600 * 1000;
  if (options.deletable || options.topicConfig !== undefined) {
    const configEntries = Object.entries({
      ...eventsTopicConfig(historyWindowMs),
      ...(options.deletable ? { 'cleanup.policy': 'compact,delete', 'retention.ms': '-1' } : {}),
      ...options.topicConfig,
    }).map(([name, value]) => ({ name, value }));
    await createKafkaTopic(admin, { topic, numPartitions: PARTITIONS, replicationFactor: 1, configEntries });
  } else {
    await ensureTopic(admin, { topic, partitions: PARTITIONS, historyWindowMs, replicationFactor: 1 });
  }
  const { brokers } = stackConfig();
  const store = new S3ContentStore(stackStoreOptions({ prefix }));
  await store.ensureBucket();
  defer(t, () => store.close());
  const dir = mkdtempSync(join(tmpdir(), 'mirrorlog-applier-it-'));
  defer(t, () => rmSync(dir, { recursive: true, force: true }));
  const kafka = new Kafka({
    clientId: `test-producer-${randomUUID().slice(0, 8)}`,
    brokers,
    logLevel: logLevel.NOTHING,
  });
  const producer: Producer = kafka.producer({ createPartitioner: directoryPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  defer(t, () => producer.disconnect());
  const applierArgs = (options: ApplierCliOptions) => [
    'applier',
    '--target',
    options.target,
    '--state-dir',
    options.stateDir,
    '--replica',
    options.replica,
    ...stackFlags(options.topic ?? topic, prefix, options.endpoints, PARTITIONS),
    ...(options.extra ?? []),
  ];
  return {
    topic,
    prefix,
    store,
    dir,
    async put(content) {
      const data = typeof content === 'string' ? Buffer.from(content) : content;
      const hash = createHash('sha256').update(data).digest('hex');
      await store.putBuffer(hash, data);
      return { hash, size: data.length };
    },
    async publish(list) {
      for (let i = 0; i < list.length; i += 500) {
        await producer.send({ topic, acks: -1, messages: list.slice(i, i + 500).map((event) => encodeRecord(event)) });
      }
    },
    async publishRaw(records) {
      await producer.send({ topic, acks: -1, messages: records });
    },
    config(overrides) {
      return applierConfigSchema.parse({
        ...stackServiceConfig(),
        topic,
        partitions: PARTITIONS,
        s3Prefix: prefix,
        stateDir: join(dir, `state-${overrides.replica}`),
        commitInterval: 200,
        ...overrides,
      });
    },
    async start(config, tuning) {
      const handle = await startApplier(config, {
        logger: pino({ level: process.env['MIRRORLOG_TEST_LOG'] ?? 'silent' }),
        tuning: { sessionTimeoutMs: 6000, ...tuning },
      });
      defer(t, () => handle.stop());
      return handle;
    },
    cliFlags: () => stackFlags(topic, prefix, stackConfig(), PARTITIONS),
    runApplierCli: (options) => runCli([...applierArgs(options), '--metrics-port', '0', '--log-level', 'warn']),
    spawnApplier: (options) => startService(t, 'applier', applierArgs(options)),
  };
}

/** `snapshot(root)` joined, or undefined when the tree changed under the walk (an applier is at work). */
export function trySnapshot(root: string): string | undefined {
  try {
    return JSON.stringify(snapshot(root));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** What a tree holds, as comparable lines: `path kind mode mtime sha256|target` (temp files left out). */
export function snapshot(root: string): string[] {
  const lines: string[] = [];
  const walk = (rel: string) => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      if (isTempName(name)) continue;
      const path = rel === '' ? name : `${rel}/${name}`;
      const abs = join(root, path);
      const stat = lstatSync(abs);
      const mode = (stat.mode & 0o7777).toString(8);
      if (stat.isDirectory()) {
        lines.push(`${path} dir ${mode}`);
        walk(path);
      } else if (stat.isSymbolicLink()) {
        lines.push(`${path} symlink -> ${readlinkSync(abs)}`);
      } else {
        const hash = createHash('sha256').update(readFileSync(abs)).digest('hex').slice(0, 12);
        lines.push(`${path} file ${mode} ${wholeMs(lstatSync(abs, { bigint: true }))} ${hash}`);
      }
    }
  };
  walk('');
  return lines;
}
