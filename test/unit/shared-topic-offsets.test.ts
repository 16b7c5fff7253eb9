// Subscriptions and offset reads go through the errors a broker answers for a moment
// after a topic's creation (kafkajs retries them in neither), and through nothing else.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import type { Admin, Consumer } from 'kafkajs';
import { createTopic } from '../../services/shared/topic-admin.ts';
import { isLeadershipError, subscribeToTopic } from '../../services/shared/topic-offsets.ts';

const { createErrorFromCode } = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as {
  createErrorFromCode: (code: number) => Error & { type: string };
};
const UNKNOWN_TOPIC_OR_PARTITION = 3;
const TOPIC_AUTHORIZATION_FAILED = 29;

/** A consumer whose subscribe() throws `failures` in turn, then succeeds. */
function consumerFailing(failures: Error[]): { consumer: Consumer; calls: () => number } {
  let calls = 0;
  const consumer = {
    subscribe: async () => {
      calls += 1;
      const failure = failures.shift();
      if (failure !== undefined) throw failure;
    },
  } as unknown as Consumer;
  return { consumer, calls: () => calls };
}

test('a subscription refused as an unknown topic-partition is tried again until the broker knows it', async () => {
  const { consumer, calls } = consumerFailing([
    createErrorFromCode(UNKNOWN_TOPIC_OR_PARTITION),
    createErrorFromCode(UNKNOWN_TOPIC_OR_PARTITION),
  ]);
  await subscribeToTopic(consumer, { topics: ['t'], fromBeginning: true });
  assert.equal(calls(), 3);
});

test('any other refusal of a subscription is thrown at once', async () => {
  const refused = createErrorFromCode(TOPIC_AUTHORIZATION_FAILED);
  const { consumer, calls } = consumerFailing([refused]);
  await assert.rejects(subscribeToTopic(consumer, { topics: ['t'] }), (error) => error === refused);
  assert.equal(calls(), 1);
});

test('leadership errors are found in the causes kafkajs wraps them in', () => {
  const wrapped = Object.assign(new Error('retries exceeded'), {
    originalError: createErrorFromCode(UNKNOWN_TOPIC_OR_PARTITION),
  });
  assert.equal(isLeadershipError(wrapped), true);
  assert.equal(isLeadershipError(createErrorFromCode(TOPIC_AUTHORIZATION_FAILED)), false);
});

/** An admin whose createTopics fails with `failure` once the topic is made, and whose metadata lags it. */
function adminCreating(failure: Error | undefined, lagging: number) {
  let made = false;
  let asked = 0;
  const admin = {
    createTopics: async () => {
      made = true;
      if (failure !== undefined) throw failure;
      return true;
    },
    fetchTopicMetadata: async ({ topics }: { topics: string[] }) => {
      asked += 1;
      if (!made || asked <= lagging) throw createErrorFromCode(UNKNOWN_TOPIC_OR_PARTITION);
      return { topics: topics.map((name) => ({ name, partitions: [{ replicas: [1] }, { replicas: [1] }] })) };
    },
  } as unknown as Admin;
  return { admin, asked: () => asked };
}

test('a topic whose creation is followed by UNKNOWN_TOPIC_OR_PARTITION is waited for, not failed', async () => {
  const { admin, asked } = adminCreating(createErrorFromCode(UNKNOWN_TOPIC_OR_PARTITION), 2);
  assert.equal(await createTopic(admin, { topic: 't', numPartitions: 2 }), true);
  assert.equal(asked(), 3, 'until the metadata has its partitions');
});

test('any other failure of a creation is thrown at once', async () => {
  const refused = createErrorFromCode(TOPIC_AUTHORIZATION_FAILED);
  const { admin } = adminCreating(refused, 0);
  await assert.rejects(createTopic(admin, { topic: 't' }), (error) => error === refused);
});
