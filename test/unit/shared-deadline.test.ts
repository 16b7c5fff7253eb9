import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { DeadlineError, settleWithin, withinMs } from '../../services/shared/deadline.ts';
import { closableKafka } from '../../services/shared/kafka.ts';

const never = new Promise<never>(() => undefined);

test('withinMs passes the answer through, and gives up with a DeadlineError on a call that never answers', async () => {
  assert.equal(await withinMs(Promise.resolve(7), 1000), 7);
  await assert.rejects(withinMs(Promise.reject(new Error('refused')), 1000), /refused/);
  const t0 = Date.now();
  await assert.rejects(withinMs(never, 30), (error) => error instanceof DeadlineError && error.ms === 30);
  assert.ok(Date.now() - t0 < 1000);
});

test('settleWithin never rejects and returns by its bound', async () => {
  await settleWithin(Promise.reject(new Error('x')), 1000);
  const t0 = Date.now();
  await settleWithin(never, 30);
  assert.ok(Date.now() - t0 < 1000);
});

test('closableKafka closes every admin and consumer it made, also when a disconnect hangs', async () => {
  const closed: string[] = [];
  const client = (name: string, hangs = false) => ({
    disconnect: () => {
      closed.push(name);
      return hangs ? never : Promise.resolve();
    },
  });
  let made = 0;
  const base = {
    admin: () => client(`admin${++made}`),
    consumer: () => client(`consumer${++made}`, true),
    producer: () => client('producer'),
  } as unknown as Kafka;
  const closable = closableKafka(base, 50);
  const { kafka } = closable;
  kafka.admin();
  kafka.consumer({ groupId: 'g' });
  kafka.admin();
  kafka.producer();
  const t0 = Date.now();
  await closable.closeAll();
  assert.ok(Date.now() - t0 < 1000, 'a hanging disconnect does not hold closeAll');
  assert.deepEqual(closed.sort(), ['admin1', 'admin3', 'consumer2']);
});
