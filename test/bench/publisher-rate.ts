// Send rate of the producer's Kafka module alone against the stack's broker: records of
// inline files of 2-8 KB, encoded up front, sent in the publish stage's batches (at most
// `batch` records and half the topic's message limit, as producerTuning has them).
//   node --import tsx test/bench/publisher-rate.ts [records] [batch] [partitions] [worker depth]
// With a worker depth, the module runs on a worker thread and up to that many batches are
// posted to it ahead of their acknowledgement. Prints records/s, the process's CPU and the
// main thread's busy time per record, and the wall time per batch.
import { randomBytes, randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { Kafka, logLevel } from 'kafkajs';
import { encodeRecord, type EncodedRecord } from '../../schemas/codec.ts';
import { relPath } from '../../schemas/rel-path.ts';
import { KafkaPublisher } from '../../services/producer/adapters/kafka-publisher.ts';
import { MAX_BATCH_BYTES } from '../../services/shared/events-topic.ts';
import { ensureTopic } from '../../services/shared/kafka.ts';
import { stackConfig } from '../helpers/stack.ts';
import type { PublisherWorkerInput } from './publisher-worker.ts';
import { tsWorkerEntry } from './ts-worker.ts';

const records = Number(process.argv[2] ?? 20_000);
const batch = Number(process.argv[3] ?? 2000);
const partitions = Number(process.argv[4] ?? 12);
const workerDepth = Number(process.argv[5] ?? 0);
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
const send = workerDepth > 0 ? await onWorker(workerDepth) : await inProcess();
const cpu = process.cpuUsage();
const busy = performance.eventLoopUtilization();
const started = performance.now();
for (const records of batches) await send.batch(records);
await send.drain();
const mainBusyMs = performance.eventLoopUtilization(busy).active;
const seconds = (performance.now() - started) / 1000;
const { user, system } = process.cpuUsage(cpu);
console.log(
  JSON.stringify({
    records,
    batches: batches.length,
    partitions,
    records_per_s: Math.round(records / seconds),
    worker_depth: workerDepth,
    cpu_us_per_record: Math.round((user + system) / records),
    main_thread_busy_us_per_record: Math.round((mainBusyMs * 1000) / records),
    ms_per_batch: Math.round((seconds * 1000) / batches.length),
  }),
);
await send.close();
await admin.deleteTopics({ topics: [topic] });
await admin.disconnect();

type Sender = { batch(records: EncodedRecord[]): Promise<void>; drain(): Promise<void>; close(): Promise<void> };

async function inProcess(): Promise<Sender> {
  const publisher = new KafkaPublisher(kafka, topic, partitions);
  await publisher.connect();
  await publisher.send(encoded.slice(0, 10));
  return {
    batch: (records) => publisher.send(records),
    drain: () => Promise.resolve(),
    close: () => publisher.disconnect(),
  };
}

async function onWorker(depth: number): Promise<Sender> {
  const worker = new Worker(tsWorkerEntry(new URL('./publisher-worker.ts', import.meta.url)), {
    workerData: { brokers: stackConfig().brokers, topic, partitions } satisfies PublisherWorkerInput,
  });
  const acknowledged: (() => void)[] = [];
  let ready!: () => void;
  const started = new Promise<void>((resolve) => (ready = resolve));
  worker.on('message', (message: 'ready' | 'sent') => (message === 'ready' ? ready() : acknowledged.shift()?.()));
  worker.once('error', (error) => {
    console.error(error);
    process.exit(1);
  });
  await started;
  const outstanding: Promise<void>[] = [];
  const post = (records: EncodedRecord[]): Promise<void> => {
    const sent = new Promise<void>((resolve) => acknowledged.push(resolve));
    worker.postMessage(records);
    return sent;
  };
  await post(encoded.slice(0, 10));
  return {
    async batch(records) {
      outstanding.push(post(records));
      if (outstanding.length >= depth) await outstanding.shift();
    },
    async drain() {
      await Promise.all(outstanding.splice(0));
    },
    async close() {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage('stop');
      await exited;
    },
  };
}
