// ensureTopic / ensureDeadLetterTopic against the local stack's real broker.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import type { Admin } from 'kafkajs';
import {
  DEAD_LETTER_RETENTION_MS,
  TopicMismatchError,
  createKafka,
  describeTopicConfig,
  ensureDeadLetterTopic,
  ensureTopic,
  fetchTopicOffsets,
} from '../../services/shared/kafka.ts';
import { createLogger } from '../../services/shared/logger.ts';
import { freshTopic, stackConfig } from '../helpers/stack.ts';

const HOUR_MS = 3_600_000;
const TOPIC_SETTINGS = ['cleanup.policy', 'min.compaction.lag.ms', 'delete.retention.ms', 'segment.ms', 'retention.ms'];

async function admin(t: TestContext): Promise<Admin> {
  const kafka = createKafka({
    brokers: stackConfig().brokers,
    clientId: 'test-shared-kafka',
    logger: createLogger({ level: 'silent', name: 'test' }),
  });
  const client = kafka.admin();
  t.after(() => client.disconnect());
  await client.connect();
  return client;
}

async function partitionsOf(client: Admin, topic: string): Promise<number> {
  const { topics } = await client.fetchTopicMetadata({ topics: [topic] });
  return topics[0]!.partitions.length;
}

describe('ensureTopic', () => {
  it('creates a compacted topic holding the history window', async (t) => {
    const client = await admin(t);
    const topic = freshTopic(t);
    const result = await ensureTopic(client, { topic, partitions: 3, historyWindowMs: 2 * HOUR_MS });
    assert.deepEqual(result, { created: true, drift: [] });
    assert.equal(await partitionsOf(client, topic), 3);
    const config = await describeTopicConfig(client, topic, TOPIC_SETTINGS);
    assert.equal(config.get('cleanup.policy'), 'compact');
    assert.equal(config.get('min.compaction.lag.ms'), String(2 * HOUR_MS));
    assert.equal(config.get('delete.retention.ms'), String(2 * HOUR_MS));
    assert.equal(config.get('segment.ms'), String(2 * HOUR_MS));
  });

  it('caps segment.ms at one day for the default 7-day window', async (t) => {
    const client = await admin(t);
    const topic = freshTopic(t);
    await ensureTopic(client, { topic, partitions: 1, historyWindowMs: 7 * 24 * HOUR_MS });
    const config = await describeTopicConfig(client, topic, TOPIC_SETTINGS);
    assert.equal(config.get('segment.ms'), String(24 * HOUR_MS));
    assert.equal(config.get('min.compaction.lag.ms'), String(7 * 24 * HOUR_MS));
  });

  it('is a no-op the second time', async (t) => {
    const client = await admin(t);
    const topic = freshTopic(t);
    const spec = { topic, partitions: 2, historyWindowMs: HOUR_MS };
    await ensureTopic(client, spec);
    assert.deepEqual(await ensureTopic(client, spec), { created: false, drift: [] });
    assert.equal(await partitionsOf(client, topic), 2);
  });

  it('lets two processes create the same topic at once', async (t) => {
    const [first, second] = [await admin(t), await admin(t)];
    const topic = freshTopic(t);
    const spec = { topic, partitions: 4, historyWindowMs: HOUR_MS };
    const results = await Promise.all([ensureTopic(first, spec), ensureTopic(second, spec)]);
    assert.equal(results.filter((result) => result.created).length, 1);
    assert.equal(await partitionsOf(first, topic), 4);
  });

  it('refuses an existing topic with another partition count', async (t) => {
    const client = await admin(t);
    const topic = freshTopic(t);
    await ensureTopic(client, { topic, partitions: 3, historyWindowMs: HOUR_MS });
    await assert.rejects(
      ensureTopic(client, { topic, partitions: 6, historyWindowMs: HOUR_MS }),
      (error: unknown) =>
        error instanceof TopicMismatchError &&
        error.topic === topic &&
        error.expected === '6' &&
        error.actual === '3' &&
        /--partitions 3/.test(error.message),
    );
  });

  it('refuses an existing topic that is not compacted', async (t) => {
    const client = await admin(t);
    const topic = freshTopic(t);
    await client.createTopics({
      topics: [{ topic, numPartitions: 2, configEntries: [{ name: 'cleanup.policy', value: 'delete' }] }],
      waitForLeaders: true,
    });
    await assert.rejects(
      ensureTopic(client, { topic, partitions: 2, historyWindowMs: HOUR_MS }),
      (error: unknown) =>
        error instanceof TopicMismatchError && error.setting === 'cleanup.policy' && error.actual === 'delete',
    );
  });

  it('reports other differing settings as drift without changing them', async (t) => {
    const client = await admin(t);
    const topic = freshTopic(t);
    await ensureTopic(client, { topic, partitions: 1, historyWindowMs: HOUR_MS });
    const result = await ensureTopic(client, { topic, partitions: 1, historyWindowMs: 2 * HOUR_MS });
    assert.equal(result.created, false);
    const drifted = Object.fromEntries(result.drift.map((entry) => [entry.name, [entry.expected, entry.actual]]));
    assert.deepEqual(drifted['min.compaction.lag.ms'], [String(2 * HOUR_MS), String(HOUR_MS)]);
    assert.deepEqual(drifted['delete.retention.ms'], [String(2 * HOUR_MS), String(HOUR_MS)]);
    assert.equal(
      (await describeTopicConfig(client, topic, ['min.compaction.lag.ms'])).get('min.compaction.lag.ms'),
      String(HOUR_MS),
    );
  });
});

describe('ensureDeadLetterTopic', () => {
  it('creates one partition with time retention, then is a no-op', async (t) => {
    const client = await admin(t);
    const topic = freshTopic(t);
    assert.deepEqual(await ensureDeadLetterTopic(client, topic), { created: true, drift: [] });
    assert.equal(await partitionsOf(client, topic), 1);
    const config = await describeTopicConfig(client, topic, TOPIC_SETTINGS);
    assert.equal(config.get('cleanup.policy'), 'delete');
    assert.equal(config.get('retention.ms'), String(DEAD_LETTER_RETENTION_MS));
    assert.deepEqual(await ensureDeadLetterTopic(client, topic), { created: false, drift: [] });
  });
});

describe('fetchTopicOffsets', () => {
  // Reproduction: listOffsets right after a topic's creation answered NOT_LEADER and the
  // first `npm start` crashed with a stack trace. Without waiting for leaders, the
  // broker here answers NOT_LEADER_FOR_PARTITION to a raw listOffsets every time.
  it('retries the leadership errors that follow a topic creation', async (t) => {
    const client = await admin(t);
    for (let i = 0; i < 3; i++) {
      const topic = freshTopic(t);
      await client.createTopics({
        topics: [{ topic, numPartitions: 12, replicationFactor: 1 }],
        waitForLeaders: false,
      });
      const offsets = await fetchTopicOffsets(client, topic);
      assert.deepEqual(
        offsets.map((o) => [o.partition, o.low, o.high]).sort((a, b) => a[0]! - b[0]!),
        Array.from({ length: 12 }, (_, p) => [p, 0, 0]),
      );
    }
  });
});
