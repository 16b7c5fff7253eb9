// The result of the last `mirrorlog verify` of a replica, kept in the tree's metadata
// topic (tree-metadata.ts) under the key `verify/<replica>`, for `mirrorlog status` to
// show: "in sync" is only claimed when the last verify (if one ran) found no drift.
// Readers of the members in that topic skip these records (their schema has no such role).
import type { Kafka, KafkaMessage } from 'kafkajs';
import kafkajs from 'kafkajs';
import { z } from 'zod';
import { readTopicToEnd } from './topic-reader.ts';
import { treeMetadataTopic } from './tree-metadata.ts';

const verifyRecordSchema = z.object({
  v: z.literal(1),
  role: z.literal('verify'),
  replica: z.string().min(1),
  host: z.string(),
  target: z.string(),
  /** ms epoch when the verify ended. */
  at: z.number(),
  entries: z.number().int().nonnegative(),
  drifts: z.number().int().nonnegative(),
});
export type VerifyResult = z.infer<typeof verifyRecordSchema>;

const KEY_PREFIX = 'verify/';

export function verifyRecordKey(replica: string): string {
  return `${KEY_PREFIX}${replica}`;
}

export function decodeVerifyRecord(key: string | undefined, value: Buffer | string | null): VerifyResult | undefined {
  if (key === undefined || !key.startsWith(KEY_PREFIX) || value === null) return undefined;
  try {
    const parsed = verifyRecordSchema.safeParse(JSON.parse(value.toString()));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

export async function publishVerifyResult(kafka: Kafka, eventsTopic: string, result: VerifyResult): Promise<void> {
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  try {
    await producer.send({
      topic: treeMetadataTopic(eventsTopic),
      acks: -1,
      messages: [{ key: verifyRecordKey(result.replica), value: JSON.stringify(result) }],
    });
  } finally {
    await producer.disconnect();
  }
}

/** The latest verify result per replica. */
export async function readVerifyResults(kafka: Kafka, eventsTopic: string): Promise<Map<string, VerifyResult>> {
  const results = new Map<string, VerifyResult>();
  await readTopicToEnd(kafka, treeMetadataTopic(eventsTopic), {
    groupPrefix: 'mirrorlog.meta',
    onBatch: (messages: KafkaMessage[]) => {
      for (const message of messages) {
        const key = message.key?.toString();
        const result = decodeVerifyRecord(key, message.value);
        if (result !== undefined) results.set(result.replica, result);
        else if (key?.startsWith(KEY_PREFIX) === true && message.value === null)
          results.delete(key.slice(KEY_PREFIX.length));
      }
    },
  });
  return results;
}
