// The publisher sends each partition's records in a send of their own: kafkajs 2.2.4
// drops the records of a partition whose leader moved, mid-send, to a broker that had
// already answered the same send (found by the cluster failover e2e).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Kafka, ProducerRecord } from 'kafkajs';
import type { EncodedRecord } from '../../schemas/codec.ts';
import { partitionOf } from '../../schemas/partitioner.ts';
import { byPartition, KafkaPublisher } from '../../services/producer/adapters/kafka-publisher.ts';

const record = (key: string): EncodedRecord => ({ key, value: `{"path":"${key}"}`, headers: {} });
const records = ['a/1', 'b/1', 'a/2', 'c/d/1', 'b/2', 'e/1', 'a/3'].map(record);

test('records are grouped by their directory partition, in order', () => {
  const groups = byPartition(records, 6);
  for (const [partition, group] of groups) for (const r of group) assert.equal(partitionOf(r.key, 6), partition);
  assert.deepEqual(
    groups
      .get(partitionOf('a/1', 6))!
      .filter((r) => r.key.startsWith('a/'))
      .map((r) => r.key),
    ['a/1', 'a/2', 'a/3'],
  );
  assert.equal([...groups.values()].flat().length, records.length);
});

test('one producer send per partition, every record sent once, acks from all in-sync replicas', async () => {
  const sends: ProducerRecord[] = [];
  const fake = {
    producer: () => ({
      send: async (r: ProducerRecord) => void sends.push(r),
      connect: async () => undefined,
      disconnect: async () => undefined,
    }),
  } as unknown as Kafka;
  await new KafkaPublisher(fake, 'topic', 6).send(records);
  assert.ok(sends.length > 1, 'the records span several partitions');
  for (const send of sends) {
    assert.equal(send.acks, -1);
    assert.equal(new Set(send.messages.map((m) => partitionOf(String(m.key), 6))).size, 1, 'one partition per send');
  }
  assert.deepEqual(sends.flatMap((s) => s.messages.map((m) => m.key)).sort(), records.map((r) => r.key).sort());
});
