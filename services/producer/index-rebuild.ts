// A lost index must not mean re-publishing (and re-uploading) the whole tree: the
// compacted topic holds the latest record of every path, which is exactly what the
// index records. Rebuilt entries have no stat fingerprint; the reconcile then trusts
// size + mtime for them once (rsync's quick check) and records the fingerprint.
import type { Kafka } from 'kafkajs';
import { decodeRecord } from '../../schemas/codec.ts';
import { GROUP_PREFIX } from '../../schemas/names.ts';
import { readTopicToEnd } from '../shared/topic-reader.ts';
import type { Logger } from '../shared/logger.ts';
import type { SourceIndex } from './ports/source-index.ts';

export type RebuildResult = { records: number; entries: number; maxSeq: number; skipped: number; otherSources: string[] };

/** Fills an empty index from the topic's records of `source`. */
export async function rebuildIndexFromTopic(kafka: Kafka, topic: string, source: string, index: SourceIndex, logger: Logger): Promise<RebuildResult> {
  const result: RebuildResult = { records: 0, entries: 0, maxSeq: 0, skipped: 0, otherSources: [] };
  const others = new Set<string>();
  const total = await readTopicToEnd(kafka, topic, {
    groupPrefix: GROUP_PREFIX.producerIndexRebuild,
    onBatch: (messages) =>
      index.transaction(() => {
        for (const message of messages) {
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
      }),
  });
  result.otherSources = [...others].sort();
  const counts = index.counts();
  result.entries = counts.file + counts.dir + counts.symlink;
  if (total > 0) logger.info({ topic, ...result }, 'index rebuilt from the topic');
  return result;
}
