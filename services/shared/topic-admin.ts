// Admin steps shared by the topics mirrorlog creates (events and dead letters): reading
// partitions and settings, creating a topic unless it exists, refusing a single replica.
import kafkajs from 'kafkajs';
import type { Admin, ITopicConfig } from 'kafkajs';
import { retry } from './retry.ts';
import { TopicMismatchError } from './topic-errors.ts';
import { isLeadershipError } from './topic-offsets.ts';

// kafkajs' CommonJS exports are only partly visible as ESM named exports.
const { ConfigResourceTypes } = kafkajs;

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

function isUnknownTopic(error: unknown): boolean {
  return (error as { type?: unknown } | null)?.type === 'UNKNOWN_TOPIC_OR_PARTITION';
}

export async function partitionCount(admin: Admin, topic: string): Promise<number | undefined> {
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
export async function createUnlessExists(
  admin: Admin,
  config: ITopicConfig,
  verify: (partitions: number) => Promise<readonly ConfigDrift[]>,
): Promise<EnsureTopicResult> {
  let existing = await partitionCount(admin, config.topic);
  if (existing === undefined) {
    if (await createTopic(admin, config)) return { created: true, drift: [] };
    // TOPIC_ALREADY_EXISTS: another process won the race.
    existing = await partitionsKnown(admin, config.topic);
  }
  return { created: false, drift: await verify(existing) };
}

/**
 * Creates a topic and waits until its partitions are in the metadata; false when it
 * existed already. kafkajs's own wait for the leaders retries LEADER_NOT_AVAILABLE only:
 * a broker that just created the topic may answer UNKNOWN_TOPIC_OR_PARTITION for a moment
 * (seen on a freshly started broker), which is waited out here instead of failing a start.
 */
export async function createTopic(admin: Admin, config: ITopicConfig): Promise<boolean> {
  let created: boolean;
  try {
    created = await admin.createTopics({ topics: [config], waitForLeaders: true });
  } catch (error) {
    if (!isLeadershipError(error)) throw error;
    created = true; // the creation went through; its leaders are not known everywhere yet
  }
  await partitionsKnown(admin, config.topic);
  return created;
}

/** The topic's partition count once the metadata has it (it may lag its creation a moment). */
async function partitionsKnown(admin: Admin, topic: string): Promise<number> {
  return retry(
    async () => {
      const count = await partitionCount(admin, topic);
      if (count === undefined || count === 0) throw new Error(`topic '${topic}' exists but has no metadata yet`);
      return count;
    },
    { retries: 20, minDelayMs: 50, maxDelayMs: 500 },
  );
}

export function minIsrEntry(minInsyncReplicas: number | undefined): Record<string, string> {
  return minInsyncReplicas === undefined ? {} : { 'min.insync.replicas': String(minInsyncReplicas) };
}

/** One copy of an existing topic on a multi-broker cluster is refused unless allowed. */
export async function checkReplicas(
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
