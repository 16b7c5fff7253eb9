// Subscriptions and offset reads go through the errors a broker answers for a moment
// after a topic's creation (kafkajs retries them in neither), and through nothing else.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import type { Consumer } from 'kafkajs';
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
