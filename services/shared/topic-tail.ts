// The last record of every partition of a topic: what the producer published last
// (seq and time), without reading the log. A throwaway consumer group that never commits.
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { fetchTopicOffsets, subscribeToTopic } from './kafka.ts';
import { decodeRecord } from '../../schemas/codec.ts';
import type { MirrorEvent } from '../../schemas/event.ts';

export async function readLastRecords(kafka: Kafka, topic: string, timeoutMs = 15_000): Promise<MirrorEvent[]> {
  const admin = kafka.admin();
  await admin.connect();
  const wanted = new Map<number, string>();
  try {
    for (const { partition, high, low } of await fetchTopicOffsets(admin, topic)) {
      if (high > low) wanted.set(partition, String(high - 1));
    }
  } finally {
    await admin.disconnect();
  }
  if (wanted.size === 0) return [];
  const consumer = kafka.consumer({
    groupId: `mirrorlog.tail.${randomUUID()}`,
    allowAutoTopicCreation: false,
    maxWaitTimeInMs: 200,
  });
  const found: MirrorEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  await consumer.connect();
  try {
    await subscribeToTopic(consumer, { topics: [topic], fromBeginning: false });
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(`reading the last records of ${topic} timed out`)), timeoutMs);
      consumer.on(consumer.events.GROUP_JOIN, () => {
        for (const [partition, offset] of wanted) consumer.seek({ topic, partition, offset });
      });
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            if (wanted.get(partition) !== message.offset) return;
            wanted.delete(partition);
            const decoded = decodeRecord(message);
            if (decoded.ok) found.push(decoded.event);
            if (wanted.size === 0) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    clearTimeout(timer);
    await consumer.disconnect();
  }
  return found;
}
