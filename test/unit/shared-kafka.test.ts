// The pure parts of services/shared/kafka.ts; topic creation runs against the real
// broker in test/integration/kafka-topic.int.test.ts.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  KAFKA_RETRY,
  MAX_BATCH_BYTES,
  TopicMismatchError,
  createKafka,
  eventsTopicConfig,
} from '../../services/shared/kafka.ts';
import { createLogger } from '../../services/shared/logger.ts';

const HOUR_MS = 3_600_000;

describe('eventsTopicConfig', () => {
  it('compacts with the history window as compaction lag and tombstone retention', () => {
    assert.deepEqual(eventsTopicConfig(2 * HOUR_MS), {
      'cleanup.policy': 'compact',
      'min.compaction.lag.ms': String(2 * HOUR_MS),
      'delete.retention.ms': String(2 * HOUR_MS),
      'segment.ms': String(2 * HOUR_MS),
      'max.message.bytes': String(MAX_BATCH_BYTES),
    });
  });

  it('rolls segments at least daily and at most every minute', () => {
    assert.equal(eventsTopicConfig(7 * 24 * HOUR_MS)['segment.ms'], String(24 * HOUR_MS));
    assert.equal(eventsTopicConfig(0)['segment.ms'], '60000');
  });
});

describe('createKafka', () => {
  it('keeps retrying while the broker is down instead of giving up after 5 tries', () => {
    assert.ok((KAFKA_RETRY.retries ?? 0) >= Number.MAX_SAFE_INTEGER);
    assert.ok((KAFKA_RETRY.maxRetryTime ?? 0) <= 60_000, 'but waits at most a minute between tries');
    const kafka = createKafka({
      brokers: ['127.0.0.1:1'],
      clientId: 'unit',
      logger: createLogger({ level: 'silent', name: 'unit' }),
    });
    assert.equal(typeof kafka.admin, 'function', 'creating the client does not connect');
  });
});

describe('TopicMismatchError', () => {
  it('says what differs and what to do', () => {
    const error = new TopicMismatchError('mirrorlog.events', 'partition count', '12', '6', 'set --partitions 6');
    assert.equal(
      error.message,
      "topic 'mirrorlog.events' has partition count 6, but 12 is required: set --partitions 6",
    );
    assert.equal(error.name, 'TopicMismatchError');
  });
});
