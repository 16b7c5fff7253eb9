// The events topic: compacted with a lag (it holds the complete tree plus the recent
// history), and its partition count never changes (a path's partition is derived from it),
// so both are enforced here rather than trusted to whoever created the topic.
import type { Admin, ITopicConfig } from 'kafkajs';
import { MissingTopicError, TopicMismatchError } from './topic-errors.ts';
import {
  checkReplicas,
  createUnlessExists,
  describeTopicConfig,
  minIsrEntry,
  partitionCount,
  type ConfigDrift,
  type EnsureTopicResult,
} from './topic-admin.ts';

const DAY_MS = 24 * 3600 * 1000;
/** The largest record batch the events topic accepts; producers keep their sends below it. */
export const MAX_BATCH_BYTES = 8 * 1024 * 1024;

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
