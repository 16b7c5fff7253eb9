// Reads a topic from its earliest offset up to the high watermarks taken at the start
// (or given per-partition limits), batch by batch, with a throwaway consumer group that
// never commits. The one way to read "the whole log" (index rebuild, verify, restore).
import { randomUUID } from 'node:crypto';
import type { Kafka, KafkaMessage } from 'kafkajs';
import { fetchTopicOffsets, subscribeToTopic } from './kafka.ts';

export type ReadToEndOptions = {
  /** Per partition, stop before this offset; default: the high watermark at the start. */
  upTo?: ReadonlyMap<number, number>;
  /** Called with each batch's messages below the limit, in offset order per partition. */
  onBatch: (messages: KafkaMessage[], partition: number) => void | Promise<void>;
  groupPrefix: string;
  /** How many records the read covers, known before the first batch. */
  onTotal?: (records: number) => void;
};

/** Resolves with the number of records the read covers (for progress). */
export async function readTopicToEnd(kafka: Kafka, topic: string, options: ReadToEndOptions): Promise<number> {
  const admin = kafka.admin();
  await admin.connect();
  const remaining = new Map<number, bigint>();
  let total = 0;
  try {
    for (const { partition, high: highest, low } of await fetchTopicOffsets(admin, topic)) {
      const limit = options.upTo?.get(partition);
      const high = BigInt(limit === undefined ? highest : Math.min(limit, highest));
      if (high > BigInt(low)) {
        remaining.set(partition, high);
        total += Number(high - BigInt(low));
      }
    }
  } finally {
    await admin.disconnect();
  }
  options.onTotal?.(total);
  if (remaining.size === 0) return 0;
  const consumer = kafka.consumer({
    groupId: `${options.groupPrefix}.${randomUUID()}`,
    allowAutoTopicCreation: false,
    maxBytesPerPartition: 16 * 1024 * 1024,
  });
  await consumer.connect();
  try {
    await subscribeToTopic(consumer, { topics: [topic], fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            const end = remaining.get(batch.partition);
            if (end === undefined) return;
            const messages = batch.messages.filter((message) => BigInt(message.offset) < end);
            await options.onBatch(messages, batch.partition);
            const last = batch.messages.at(-1);
            if (last !== undefined && BigInt(last.offset) + 1n >= end) remaining.delete(batch.partition);
            if (remaining.size === 0) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  return total;
}
