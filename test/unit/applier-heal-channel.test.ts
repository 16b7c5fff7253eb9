import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kafka } from 'kafkajs';
import { HealChannel } from '../../services/applier/adapters/heal-channel.ts';
import type { LaneRecord } from '../../services/applier/partition-queues.ts';
import { decodeRecord } from '../../schemas/codec.ts';
import type { RelPath } from '../../schemas/rel-path.ts';
import { createLogger } from '../../services/shared/logger.ts';

/** A Kafka whose producer cannot connect the first `failures` times (the broker was away). */
function kafkaAway(failures: number) {
  const sent: string[] = [];
  let connects = 0;
  const producer = {
    connect: () =>
      ++connects <= failures ? Promise.reject(new Error('Connection error: ECONNREFUSED')) : Promise.resolve(),
    send: (request: { messages: { key: string }[] }) => {
      for (const { key } of request.messages) sent.push(key);
      return Promise.resolve([]);
    },
    disconnect: () => Promise.resolve(),
  };
  return { kafka: { producer: () => producer } as unknown as Kafka, sent, connects: () => connects };
}

function record(offset: number): LaneRecord {
  const raw = { key: 'a', value: Buffer.from('{}') };
  return { partition: 0, offset, raw, decoded: decodeRecord(raw) };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

test('a heal request that could not be sent (Kafka away) connects again for the next one', async () => {
  const { kafka, sent, connects } = kafkaAway(1);
  const channel = new HealChannel({
    kafka,
    topic: 't',
    replica: 'r',
    store: { stat: () => Promise.resolve(undefined) },
    waits: { healWaits: () => [], recordHealWait: () => undefined, dropHealWait: () => undefined },
    logger: createLogger({ level: 'silent', name: 'test' }),
    onHealed: () => undefined,
  });
  const hash = (c: string) => c.repeat(64);
  channel.request(record(1), { hash: hash('a'), size: 1, path: 'x' as RelPath, reason: 'content-missing' });
  await settle();
  assert.deepEqual(sent, [], 'the first request found no broker');
  channel.request(record(2), { hash: hash('b'), size: 1, path: 'y' as RelPath, reason: 'content-missing' });
  for (let turn = 0; turn < 20 && sent.length === 0; turn++) await settle();
  assert.deepEqual(sent, [hash('b')]);
  assert.equal(connects(), 2);
  await channel.close();
});
