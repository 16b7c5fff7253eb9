// A lost index must not mean re-publishing (and re-uploading) the whole tree: the
// compacted topic holds the latest record of every path, which is exactly what the
// index records. Rebuilt entries have no stat fingerprint; the reconcile then trusts
// size + mtime for them once (rsync's quick check) and records the fingerprint.
import { randomUUID } from 'node:crypto';
import type { Kafka } from 'kafkajs';
import { decodeRecord } from '../../schemas/codec.ts';
import type { Logger } from '../shared/logger.ts';
import type { SqliteSourceIndex } from './adapters/sqlite-source-index.ts';

export const INDEX_COMPLETE_KEY = 'complete';

export type RebuildResult = { records: number; entries: number; maxSeq: number; skipped: number; otherSources: string[] };

/** Fills an empty index from the topic's records of `source`. */
export async function rebuildIndexFromTopic(kafka: Kafka, topic: string, source: string, index: SqliteSourceIndex, logger: Logger): Promise<RebuildResult> {
  const admin = kafka.admin();
  await admin.connect();
  const remaining = new Map<number, bigint>();
  try {
    for (const { partition, high, low } of await admin.fetchTopicOffsets(topic)) {
      if (BigInt(high) > BigInt(low)) remaining.set(partition, BigInt(high));
    }
  } finally {
    await admin.disconnect();
  }
  const result: RebuildResult = { records: 0, entries: 0, maxSeq: 0, skipped: 0, otherSources: [] };
  const others = new Set<string>();
  const total = [...remaining.values()].reduce((sum, high) => sum + high, 0n);
  if (remaining.size === 0) return result;
  logger.info({ topic, upTo: Number(total) }, 'rebuilding the index from the topic');

  // A throwaway group that never commits: it only reads.
  const consumer = kafka.consumer({ groupId: `mirrorlog.producer-index-rebuild.${randomUUID()}`, allowAutoTopicCreation: false, maxBytesPerPartition: 8 * 1024 * 1024 });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      consumer
        .run({
          autoCommit: false,
          eachBatch: async ({ batch }) => {
            index.transaction(() => {
              for (const message of batch.messages) {
                result.records++;
                const decoded = decodeRecord(message);
                if (!decoded.ok || decoded.event.source !== source) {
                  if (decoded.ok) others.add(decoded.event.source);
                  result.skipped++;
                  continue;
                }
                const event = decoded.event;
                result.maxSeq = Math.max(result.maxSeq, event.seq);
                if (event.op === 'delete') index.remove(event.path);
                else if (event.op === 'file') index.put(event.path, { kind: 'file', size: event.size, mode: event.mode, mtimeMs: event.mtimeMs, hash: event.hash }, event.seq, undefined);
                else if (event.op === 'dir') index.put(event.path, { kind: 'dir', mode: event.mode }, event.seq, undefined);
                else index.put(event.path, { kind: 'symlink', target: event.target }, event.seq, undefined);
              }
            });
            const last = batch.messages.at(-1);
            const high = remaining.get(batch.partition);
            if (last !== undefined && high !== undefined && BigInt(last.offset) + 1n >= high) remaining.delete(batch.partition);
            if (remaining.size === 0) resolve();
          },
        })
        .catch(reject);
    });
  } finally {
    await consumer.disconnect();
  }
  result.otherSources = [...others].sort();
  const counts = index.counts();
  result.entries = counts.file + counts.dir + counts.symlink;
  logger.info(result, 'index rebuilt from the topic');
  return result;
}
