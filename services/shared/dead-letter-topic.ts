// A replica's dead-letter topic: events the applier could not apply, kept for inspection
// and replay. One partition: dead letters are rare, their order across directories does
// not matter, and one offset sequence is the simplest to inspect and replay. Plain time
// retention (not compaction): every failure is kept, even several for one path, and the
// topic cannot grow without bound.
import kafkajs from 'kafkajs';
import type { Admin, ITopicConfig } from 'kafkajs';
import { MAX_BATCH_BYTES } from './events-topic.ts';
import {
  checkReplicas,
  createUnlessExists,
  describeTopicConfig,
  minIsrEntry,
  type EnsureTopicResult,
} from './topic-admin.ts';

// kafkajs' CommonJS exports are only partly visible as ESM named exports.
const { ConfigResourceTypes } = kafkajs;

const DAY_MS = 24 * 3600 * 1000;
export const DEAD_LETTER_RETENTION_MS = 30 * DAY_MS;

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
