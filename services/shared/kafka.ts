// Kafka client setup and the topics mirrorlog depends on. The events topic must be
// compacted with a lag (it holds the complete tree plus the recent history) and its
// partition count never changes (a path's partition is derived from it), so both
// are enforced here rather than trusted to whoever created the topic.
import kafkajs from 'kafkajs';
import type { Admin, ITopicConfig, Kafka, RetryOptions as KafkaRetryOptions } from 'kafkajs';
import { installBoundedGzip } from './bounded-gzip.ts';
import { settleWithin } from './deadline.ts';
import { CliError } from './errors.ts';
import type { KafkaClientSecurity } from './kafka-security.ts';
import { kafkaLogCreator, kafkaLogLevelFor } from './logger.ts';
import type { Logger } from './logger.ts';
import { retry } from './retry.ts';

// kafkajs' CommonJS exports are only partly visible as ESM named exports.
const { Kafka: KafkaClient, ConfigResourceTypes } = kafkajs;

const DAY_MS = 24 * 3600 * 1000;
/** The largest record batch the events topic accepts; producers keep their sends below it. */
export const MAX_BATCH_BYTES = 8 * 1024 * 1024;

/**
 * kafkajs gives up after 5 retries (~10 s) by default: a broker restart would then
 * crash every service. Retry with capped backoff until it comes back (kafkajs itself
 * uses MAX_SAFE_INTEGER as "forever" for the idempotent producer).
 */
export const KAFKA_RETRY: KafkaRetryOptions = {
  initialRetryTime: 300,
  maxRetryTime: 30_000,
  multiplier: 2,
  factor: 0.2,
  retries: Number.MAX_SAFE_INTEGER,
};

export interface CreateKafkaOptions {
  readonly brokers: readonly string[];
  /** Shows in broker logs and quotas, e.g. `mirrorlog-producer-<source>`. */
  readonly clientId: string;
  readonly logger: Logger;
  readonly retry?: KafkaRetryOptions;
  /** TLS and SASL (kafkaClientSecurity(config)); plaintext when absent. */
  readonly security?: KafkaClientSecurity;
}

/**
 * A kafkajs client logging through pino. Producers and consumers made from it should
 * pass `allowAutoTopicCreation: false`: a broker with auto-creation on would otherwise
 * create a mistyped topic uncompacted, with the broker's default partition count.
 */
export function createKafka(options: CreateKafkaOptions): Kafka {
  installBoundedGzip(); // fetched batches inflate to a bounded size (bounded-gzip.ts)
  return new KafkaClient({
    clientId: options.clientId,
    brokers: [...options.brokers],
    logLevel: kafkaLogLevelFor(options.logger),
    logCreator: kafkaLogCreator(options.logger),
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    retry: { ...KAFKA_RETRY, ...options.retry },
    ...(options.security?.ssl === undefined ? {} : { ssl: options.security.ssl }),
    ...(options.security?.sasl === undefined ? {} : { sasl: options.security.sasl }),
  });
}

/** A Kafka client whose admins and consumers are remembered, so that one who gives up on them can close them all. */
export interface ClosableKafka {
  readonly kafka: Kafka;
  /** Disconnects every client made so far; bounded, never rejects. */
  closeAll(): Promise<void>;
}

export function closableKafka(kafka: Kafka, closeWithinMs = 2000): ClosableKafka {
  const opened = new Set<{ disconnect(): Promise<void> }>();
  const tracked = Object.create(kafka) as Kafka;
  tracked.admin = (config) => remember(kafka.admin(config));
  tracked.consumer = (config) => remember(kafka.consumer(config));
  function remember<C extends { disconnect(): Promise<void> }>(client: C): C {
    opened.add(client);
    return client;
  }
  return {
    kafka: tracked,
    closeAll: () => settleWithin(Promise.allSettled([...opened].map((client) => client.disconnect())), closeWithinMs),
  };
}

/**
 * One attempt to reach the cluster, failing fast (the service clients retry forever, which
 * at start would hide an unreachable or refusing broker behind endless retries).
 */
export async function probeKafka(
  brokers: readonly string[],
  logger: Logger,
  security?: KafkaClientSecurity,
): Promise<void> {
  const admin = createKafka({
    brokers: [...brokers],
    clientId: 'mirrorlog-probe',
    logger: logger.child({ probe: true }, { level: 'silent' }),
    ...(security === undefined ? {} : { security }),
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** The existing topic cannot serve the configuration: changing it would break the log's contract (final: exit 2). */
export class TopicMismatchError extends CliError {
  constructor(
    readonly topic: string,
    readonly setting: string,
    readonly expected: string,
    readonly actual: string,
    hint: string,
  ) {
    super(`topic '${topic}' has ${setting} ${actual}, but ${expected} is required: ${hint}`);
    this.name = 'TopicMismatchError';
  }
}

/**
 * A topic a service needs and must not create (a mistyped --topic would otherwise start an
 * empty log). Final: exit 2.
 */
export class MissingTopicError extends CliError {
  constructor(
    readonly topic: string,
    hint: string,
  ) {
    super(`topic '${topic}' does not exist: ${hint}`);
    this.name = 'MissingTopicError';
  }
}

export interface EventsTopicSpec {
  readonly topic: string;
  readonly partitions: number;
  /** How long every change stays in the log before compaction may drop it. */
  readonly historyWindowMs: number;
  /** Default -1: the broker's `default.replication.factor`. */
  readonly replicationFactor?: number;
  /** Set on the topic when given; the broker's default otherwise. */
  readonly minInsyncReplicas?: number;
  /** An existing topic with one replica is a TopicMismatchError (topic-replication.ts). */
  readonly refuseSingleReplica?: boolean;
}

/** A topic setting that differs from what mirrorlog would create: reported, not changed. */
export interface ConfigDrift {
  readonly name: string;
  readonly expected: string;
  readonly actual: string | undefined;
}

export interface EnsureTopicResult {
  readonly created: boolean;
  readonly drift: readonly ConfigDrift[];
}

/** The topic configuration the design requires for a history window. */
export function eventsTopicConfig(historyWindowMs: number): Record<string, string> {
  return {
    'cleanup.policy': 'compact',
    'min.compaction.lag.ms': String(historyWindowMs),
    'delete.retention.ms': String(historyWindowMs),
    // Compaction only cleans closed segments; the broker default (7 days) would keep a
    // quiet topic's whole recent log uncompacted. A floor avoids a flood of tiny segments.
    'segment.ms': String(Math.min(Math.max(historyWindowMs, 60_000), DAY_MS)),
    // Records carry small files inline: room for large batches of them.
    'max.message.bytes': String(MAX_BATCH_BYTES),
  };
}

function isUnknownTopic(error: unknown): boolean {
  return (error as { type?: unknown } | null)?.type === 'UNKNOWN_TOPIC_OR_PARTITION';
}

async function partitionCount(admin: Admin, topic: string): Promise<number | undefined> {
  return (await partitionReplicas(admin, topic))?.length;
}

/** The replica count of each partition of `topic`, undefined when it does not exist. */
async function partitionReplicas(admin: Admin, topic: string): Promise<number[] | undefined> {
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics.find((entry) => entry.name === topic)?.partitions.map((p) => p.replicas.length);
  } catch (error) {
    if (isUnknownTopic(error)) return undefined;
    throw error;
  }
}

/** The current values of `names` on `topic`. */
export async function describeTopicConfig(
  admin: Admin,
  topic: string,
  names: readonly string[],
): Promise<Map<string, string | undefined>> {
  const response = await admin.describeConfigs({
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: [...names] }],
    includeSynonyms: false,
  });
  const entries = response.resources.find((resource) => resource.resourceName === topic)?.configEntries ?? [];
  return new Map(entries.map((entry) => [entry.configName, entry.configValue ?? undefined]));
}

/**
 * Creates `topic` unless it exists (two processes racing are fine). Returns whether it
 * was created. `verify` throws TopicMismatchError for what cannot be tolerated and
 * returns the rest as drift.
 */
async function createUnlessExists(
  admin: Admin,
  config: ITopicConfig,
  verify: (partitions: number) => Promise<readonly ConfigDrift[]>,
): Promise<EnsureTopicResult> {
  let existing = await partitionCount(admin, config.topic);
  if (existing === undefined) {
    const created = await admin.createTopics({ topics: [config], waitForLeaders: true });
    if (created) return { created: true, drift: [] };
    // TOPIC_ALREADY_EXISTS: another process won the race; its metadata may lag a moment.
    existing = await retry(
      async () => {
        const count = await partitionCount(admin, config.topic);
        if (count === undefined || count === 0)
          throw new Error(`topic '${config.topic}' exists but has no metadata yet`);
        return count;
      },
      { retries: 20, minDelayMs: 50, maxDelayMs: 500 },
    );
  }
  return { created: false, drift: await verify(existing) };
}

/**
 * Ensures the events topic exists, compacted with the history window. An existing
 * topic must have exactly `partitions` partitions and a compacting cleanup policy
 * (TopicMismatchError otherwise); other differing settings come back as `drift`,
 * for the caller to log, since changing them on a live topic is an operator decision.
 */
export async function ensureTopic(admin: Admin, spec: EventsTopicSpec): Promise<EnsureTopicResult> {
  const wanted = { ...eventsTopicConfig(spec.historyWindowMs), ...minIsrEntry(spec.minInsyncReplicas) };
  const config: ITopicConfig = {
    topic: spec.topic,
    numPartitions: spec.partitions,
    replicationFactor: spec.replicationFactor ?? -1,
    configEntries: Object.entries(wanted).map(([name, value]) => ({ name, value })),
  };
  return createUnlessExists(admin, config, async (partitions) => {
    await checkReplicas(admin, spec.topic, spec);
    return verifyEventsTopic(admin, spec, partitions);
  });
}

/**
 * Checks the events topic without ever creating it (what consumers of the log do: only
 * the producer creates it). A missing topic is a MissingTopicError naming it.
 */
export async function checkEventsTopic(
  admin: Admin,
  spec: Omit<EventsTopicSpec, 'replicationFactor'>,
): Promise<readonly ConfigDrift[]> {
  const partitions = await partitionCount(admin, spec.topic);
  if (partitions === undefined || partitions === 0) {
    const others = (await admin.listTopics().catch(() => [] as string[])).filter(
      (name) => !name.startsWith('__') && !name.includes('.dlq.'),
    );
    const known =
      others.length === 0
        ? 'no topics exist yet'
        : `existing topics: ${others.sort().slice(0, 10).join(', ')}${others.length > 10 ? ', ...' : ''}`;
    throw new MissingTopicError(
      spec.topic,
      `only a producer creates it; check --topic (MIRRORLOG_TOPIC), or start the producer first (${known})`,
    );
  }
  return verifyEventsTopic(admin, { ...spec }, partitions);
}

async function verifyEventsTopic(
  admin: Admin,
  spec: Omit<EventsTopicSpec, 'replicationFactor'>,
  partitions: number,
): Promise<readonly ConfigDrift[]> {
  const wanted = eventsTopicConfig(spec.historyWindowMs);
  if (partitions !== spec.partitions) {
    throw new TopicMismatchError(
      spec.topic,
      'partition count',
      String(spec.partitions),
      String(partitions),
      `the count is fixed at creation (a path's partition depends on it); ` +
        `set --partitions ${partitions} (MIRRORLOG_PARTITIONS), or use a new topic re-seeded from the producer index`,
    );
  }
  const actual = await describeTopicConfig(admin, spec.topic, Object.keys(wanted));
  const policy = actual.get('cleanup.policy') ?? '';
  if (!policy.split(',').includes('compact')) {
    throw new TopicMismatchError(
      spec.topic,
      'cleanup.policy',
      'compact',
      policy || '(unknown)',
      'without compaction the log loses the current tree once retention expires; ' +
        'fix the topic (kafka-configs --alter) or use another topic',
    );
  }
  return Object.entries(wanted)
    .filter(([name, value]) => actual.get(name) !== value)
    .map(([name, expected]) => ({ name, expected, actual: actual.get(name) }));
}

/**
 * Errors a broker answers for a while after a topic was created or a leader moved: its
 * metadata is not everywhere yet. kafkajs' admin does not retry them in listOffsets.
 */
const LEADERSHIP_ERRORS: ReadonlySet<string> = new Set([
  'NOT_LEADER_FOR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'REPLICA_NOT_AVAILABLE',
]);

export function isLeadershipError(error: unknown): boolean {
  for (
    let cause = error as { type?: unknown; originalError?: unknown; cause?: unknown } | undefined, depth = 0;
    cause !== undefined && cause !== null && depth < 5;
    depth++
  ) {
    if (typeof cause.type === 'string' && LEADERSHIP_ERRORS.has(cause.type)) return true;
    cause = (cause.originalError ?? cause.cause) as typeof cause | undefined;
  }
  return false;
}

/** `admin.fetchTopicOffsets`, retried (bounded) through the leadership errors that follow a topic's creation. */
export async function fetchTopicOffsets(
  admin: Admin,
  topic: string,
  options: { retries?: number; minDelayMs?: number } = {},
): Promise<{ partition: number; low: number; high: number }[]> {
  const offsets = await retry(() => admin.fetchTopicOffsets(topic), {
    retries: options.retries ?? 20,
    minDelayMs: options.minDelayMs ?? 100,
    maxDelayMs: 2000,
    isRetryable: isLeadershipError,
  });
  return offsets.map(({ partition, low, high }) => ({ partition, low: Number(low), high: Number(high) }));
}

function minIsrEntry(minInsyncReplicas: number | undefined): Record<string, string> {
  return minInsyncReplicas === undefined ? {} : { 'min.insync.replicas': String(minInsyncReplicas) };
}

/** One copy of an existing topic on a multi-broker cluster is refused unless allowed. */
async function checkReplicas(
  admin: Admin,
  topic: string,
  spec: { replicationFactor?: number; refuseSingleReplica?: boolean },
): Promise<void> {
  if (spec.refuseSingleReplica !== true) return;
  const replicas = (await partitionReplicas(admin, topic)) ?? [];
  if (replicas.length > 0 && Math.min(...replicas) === 1) {
    throw new TopicMismatchError(
      topic,
      'replication factor',
      String(spec.replicationFactor ?? 'more than 1'),
      '1',
      'on a cluster of several brokers one copy loses acknowledged changes with its broker; ' +
        'reassign it (kafka-reassign-partitions) or pass --allow-single-replica',
    );
  }
}

export const DEAD_LETTER_RETENTION_MS = 30 * DAY_MS;

/**
 * Ensures a replica's dead-letter topic: events the applier could not apply, kept for
 * inspection and replay. One partition: dead letters are rare, their order across
 * directories does not matter, and one offset sequence is the simplest to inspect and
 * replay. Plain time retention (not compaction): every failure is kept, even several
 * for one path, and the topic cannot grow without bound.
 */
/** Room for the headers a dead letter adds to the record it carries. */
export const DEAD_LETTER_HEADROOM_BYTES = 64 * 1024;

/**
 * The replica's dead-letter topic, created unless it exists. It must take any record the
 * events topic took (plus the dead letter's headers), or a bad record too large for it
 * would be retried forever and pin its partition's offsets (issue 20, M8): its
 * max.message.bytes follows `eventsMaxMessageBytes`, and an existing topic with less is
 * raised (that is the one setting corrected; a differing retention is only reported).
 */
export async function ensureDeadLetterTopic(
  admin: Admin,
  topic: string,
  options: {
    retentionMs?: number;
    replicationFactor?: number;
    minInsyncReplicas?: number;
    refuseSingleReplica?: boolean;
    eventsMaxMessageBytes?: number;
  } = {},
): Promise<EnsureTopicResult> {
  const retentionMs = String(options.retentionMs ?? DEAD_LETTER_RETENTION_MS);
  const maxMessageBytes = String(
    Math.max(options.eventsMaxMessageBytes ?? 0, MAX_BATCH_BYTES) + DEAD_LETTER_HEADROOM_BYTES,
  );
  const entries = { 'cleanup.policy': 'delete', 'retention.ms': retentionMs, 'max.message.bytes': maxMessageBytes };
  const config: ITopicConfig = {
    topic,
    numPartitions: 1,
    replicationFactor: options.replicationFactor ?? -1,
    configEntries: Object.entries({ ...entries, ...minIsrEntry(options.minInsyncReplicas) }).map(([name, value]) => ({
      name,
      value,
    })),
  };
  // Any partition count works for dead letters.
  return createUnlessExists(admin, config, async () => {
    await checkReplicas(admin, topic, options);
    const actual = await describeTopicConfig(admin, topic, ['retention.ms', 'max.message.bytes', 'cleanup.policy']);
    if (Number(actual.get('max.message.bytes') ?? 0) < Number(maxMessageBytes)) {
      // AlterConfigs replaces the topic's whole set: pass on what it has, with the new limit.
      const keep = {
        'cleanup.policy': actual.get('cleanup.policy') ?? 'delete',
        'retention.ms': actual.get('retention.ms') ?? retentionMs,
        'max.message.bytes': maxMessageBytes,
      };
      await admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: topic,
            configEntries: Object.entries(keep).map(([name, value]) => ({ name, value })),
          },
        ],
      });
    }
    return actual.get('retention.ms') === retentionMs
      ? []
      : [{ name: 'retention.ms', expected: retentionMs, actual: actual.get('retention.ms') }];
  });
}
