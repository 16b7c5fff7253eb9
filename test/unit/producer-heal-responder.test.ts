import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Admin, Kafka } from 'kafkajs';
import { HealResponder } from '../../services/producer/heal-responder.ts';
import { createLogger } from '../../services/shared/logger.ts';

const unreachable = () =>
  Object.assign(new Error('Connection error: connect ECONNREFUSED'), { name: 'KafkaJSConnectionError' });

/** An admin that cannot reach Kafka the first `away` times, then creates the heal topic. */
function fakeKafka(away: number, refused = false) {
  let calls = 0;
  let created = false;
  const joined: string[] = [];
  const admin = {
    fetchTopicMetadata: ({ topics }: { topics: string[] }) => {
      if (++calls <= away)
        return Promise.reject(
          refused ? Object.assign(new Error('denied'), { type: 'TOPIC_AUTHORIZATION_FAILED' }) : unreachable(),
        );
      if (!created) return Promise.reject(Object.assign(new Error('unknown'), { type: 'UNKNOWN_TOPIC_OR_PARTITION' }));
      return Promise.resolve({ topics: topics.map((name) => ({ name, partitions: [{ replicas: [1] }] })) });
    },
    createTopics: () => {
      created = true;
      return Promise.resolve(true);
    },
  };
  const consumer = {
    connect: () => Promise.resolve(),
    subscribe: ({ topics }: { topics: string[] }) => {
      joined.push(...topics);
      return Promise.resolve();
    },
    run: () => Promise.resolve(),
    disconnect: () => Promise.resolve(),
  };
  return { admin: admin as unknown as Admin, kafka: { consumer: () => consumer } as unknown as Kafka, joined };
}

function responder(fake: ReturnType<typeof fakeKafka>, waits: number[]) {
  const lines: string[] = [];
  const logger = createLogger({ level: 'warn', name: 'test' });
  logger.warn = ((_: unknown, message: string) => {
    lines.push(message);
  }) as unknown as typeof logger.warn;
  const heal = new HealResponder({
    kafka: fake.kafka,
    admin: fake.admin,
    topic: 'events',
    source: 'src',
    root: '/nonexistent',
    store: { putFile: () => Promise.resolve() },
    logger,
    delay: (ms) => {
      waits.push(ms);
      return Promise.resolve();
    },
  });
  return { heal, lines };
}

test('the heal responder keeps trying to join while Kafka is away, and says so each time', async () => {
  const fake = fakeKafka(3);
  const waits: number[] = [];
  const { heal, lines } = responder(fake, waits);
  await heal.start();
  assert.deepEqual(fake.joined, ['events.heal']);
  assert.equal(waits.length, 3);
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /cannot join the heal topic yet; trying again in/);
  await heal.stop();
});

test('refused permissions are final: no retry', async () => {
  const fake = fakeKafka(1, true);
  const waits: number[] = [];
  const { heal } = responder(fake, waits);
  await assert.rejects(heal.start(), /denied/);
  assert.equal(waits.length, 0);
  assert.deepEqual(fake.joined, []);
});
