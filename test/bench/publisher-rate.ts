// Send rate of the producer's Kafka module alone against the stack's broker: records of
// inline files of 2-8 KB, encoded up front, sent in the publish stage's batches (at most
// `batch` records and half the topic's message limit, as producerTuning has them).
//   node --import tsx test/bench/publisher-rate.ts [records] [batch] [partitions]
// Prints records/s, the main thread's CPU per record and the wall time per batch.
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel } from 'kafkajs';
import { encodeRecord, type EncodedRecord } from '../../schemas/codec.ts';
import { relPath } from '../../schemas/rel-path.ts';
import { KafkaPublisher } from '../../services/producer/adapters/kafka-publisher.ts';
import { MAX_BATCH_BYTES } from '../../services/shared/events-topic.ts';
import { ensureTopic } from '../../services/shared/kafka.ts';
import { stackConfig } from '../helpers/stack.ts';

const records = Number(process.argv[2] ?? 20_000);
const batch = Number(process.argv[3] ?? 2000);
const partitions = Number(process.argv[4] ?? 12);
const topic = `bench-publisher-${randomUUID()}`;
const kafka = new Kafka({ clientId: 'bench', brokers: stackConfig().brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
await ensureTopic(admin, { topic, partitions, historyWindowMs: 3600_000, replicationFactor: 1 });

const encoded: EncodedRecord[] = [];
for (let i = 0; i < records; i++) {
  const data = randomBytes(2000 + Math.floor(Math.random() * 6000));
  encoded.push(
    encodeRecord({
      source: 'bench',
      seq: i + 1,
      ts: Date.now(),
      op: 'file',
      path: relPath(`d${i % 200}/f${i}.html`),
      size: data.length,
      mode: 0o644,
      mtimeMs: 1_700_000_000_000,
      hash: 'a'.repeat(64),
      data,
    }),
  );
}
const publisher = new KafkaPublisher(kafka, topic, partitions);
await publisher.connect();
await publisher.send(encoded.slice(0, 10));
const batches: EncodedRecord[][] = [[]];
let bytes = 0;
for (const record of encoded) {
  bytes += 512 + (record.value?.length ?? 0);
  if (batches.at(-1)!.length >= batch || bytes > MAX_BATCH_BYTES / 2) {
    batches.push([]);
    bytes = 512 + (record.value?.length ?? 0);
  }
  batches.at(-1)!.push(record);
}
const cpu = process.cpuUsage();
const started = performance.now();
for (const records of batches) await publisher.send(records);
const seconds = (performance.now() - started) / 1000;
const { user, system } = process.cpuUsage(cpu);
console.log(
  JSON.stringify({
    records,
    batches: batches.length,
    partitions,
    records_per_s: Math.round(records / seconds),
    cpu_us_per_record: Math.round((user + system) / records),
    ms_per_batch: Math.round((seconds * 1000) / batches.length),
  }),
);
await publisher.disconnect();
await admin.deleteTopics({ topics: [topic] });
await admin.disconnect();
