// `mirrorlog gc --heal` (issue 20, M3): finds content the log references that the store
// has lost, before any replica needs it, and asks the producer side to upload it again
// (the tree's heal topic, as an applier does when its hash check fails; the producer's
// heal responder answers). Nothing is deleted. Memory: 8 bytes per stored object (the
// listing, as gc keeps the log's hashes) plus one entry per missing content.
import type { Kafka } from 'kafkajs';
import { decodeRecord } from '../../schemas/codec.ts';
import { healTopic } from '../../schemas/content-key.ts';
import { encodeHealRequest, type HealRequest } from '../../schemas/heal-request.ts';
import { GROUP_PREFIX } from '../../schemas/names.ts';
import type { ContentStore } from '../shared/content-store.ts';
import { readTopicToEnd } from '../shared/topic-reader.ts';
import { ReferencedHashes } from './gc-plan.ts';

/** The name heal requests of this scan carry where an applier puts its replica's. */
export const HEAL_SCAN_REQUESTER = 'gc --heal';

export type HealScanReport = { objects: number; records: number; missing: number };

/** Lists the store, reads `topic` to its end, and asks for every referenced content the store lacks. */
export async function requestMissingContent(
  kafka: Kafka,
  store: Pick<ContentStore, 'list'>,
  topic: string,
): Promise<HealScanReport> {
  // Listed first: an object uploaded while the log is read is only asked for once more.
  const stored = new ReferencedHashes();
  let objects = 0;
  for await (const object of store.list()) {
    stored.add(object.hash);
    objects++;
  }
  stored.seal();
  const missing = new Map<string, HealRequest>();
  let records = 0;
  await readTopicToEnd(kafka, topic, {
    groupPrefix: GROUP_PREFIX.gc,
    onBatch: (messages) => {
      for (const message of messages) {
        records++;
        const decoded = decodeRecord({ key: message.key, value: message.value, headers: message.headers });
        if (!decoded.ok || decoded.event.op !== 'file' || decoded.event.data !== undefined) continue;
        const { hash, size, path } = decoded.event;
        // Latest path wins: the producer re-reads that one.
        if (!stored.has(hash))
          missing.set(hash, { v: 1, hash, size, path, reason: 'content-missing', replica: HEAL_SCAN_REQUESTER });
      }
    },
  });
  if (missing.size > 0) {
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const requests = [...missing.values()];
      for (let i = 0; i < requests.length; i += 500)
        await producer.send({
          topic: healTopic(topic),
          acks: -1,
          messages: requests.slice(i, i + 500).map(encodeHealRequest),
        });
    } finally {
      await producer.disconnect();
    }
  }
  return { objects, records, missing: missing.size };
}
