// A lost index must not mean re-publishing (and re-uploading) the whole tree: the
// compacted topic holds the latest record of every path, which is exactly what the
// index records. Rebuilt entries have no stat fingerprint; the reconcile then trusts
// size + mtime for them once (rsync's quick check) and records the fingerprint.
import type { Kafka } from 'kafkajs';
import { decodeRecord, type RawRecord } from '../../schemas/codec.ts';
import { type EntryState, type MirrorEvent } from '../../schemas/event.ts';
import { attributesIn } from '../../schemas/entry-attributes.ts';
import { GROUP_PREFIX } from '../../schemas/names.ts';
import { readTopicToEnd } from '../shared/topic-reader.ts';
import type { Logger } from '../shared/logger.ts';
import type { SourceIndex } from './ports/source-index.ts';

export type RebuildResult = {
  records: number;
  entries: number;
  maxSeq: number;
  skipped: number;
  otherSources: string[];
};

/** What a rebuild has read so far (records of other sources are counted, never indexed). */
export class IndexRebuild {
  readonly result: RebuildResult = { records: 0, entries: 0, maxSeq: 0, skipped: 0, otherSources: [] };
  private readonly others = new Set<string>();

  constructor(
    private readonly index: SourceIndex,
    private readonly source: string,
  ) {}

  /** One batch of the topic's records, in log order, in one index transaction. */
  apply(messages: readonly RawRecord[]): void {
    const { index, result } = this;
    index.transaction(() => {
      for (const message of messages) {
        result.records++;
        const decoded = decodeRecord(message);
        if (!decoded.ok || decoded.event.source !== this.source) {
          if (decoded.ok) this.others.add(decoded.event.source);
          result.skipped++;
          continue;
        }
        const { event } = decoded;
        result.maxSeq = Math.max(result.maxSeq, event.seq);
        if (event.op === 'delete') index.remove(event.path);
        else index.put(event.path, stateOf(event), event.seq, undefined);
      }
    });
  }

  finish(): RebuildResult {
    this.result.otherSources = [...this.others].sort();
    const counts = this.index.counts();
    this.result.entries = counts.file + counts.dir + counts.symlink;
    return this.result;
  }
}

function stateOf(event: Exclude<MirrorEvent, { op: 'delete' }>): EntryState {
  const owned = {
    ...(event.owner === undefined ? {} : { owner: { uid: event.owner.uid, gid: event.owner.gid } }),
    ...(event.mtimeNs === undefined ? {} : { mtimeNs: event.mtimeNs }),
    ...attributesIn(event),
  };
  switch (event.op) {
    case 'file':
      return {
        kind: 'file',
        size: event.size,
        mode: event.mode,
        mtimeMs: event.mtimeMs,
        hash: event.hash,
        ...owned,
        ...(event.link === undefined ? {} : { link: event.link }),
      };
    case 'dir':
      return {
        kind: 'dir',
        mode: event.mode,
        ...owned,
        ...(event.mtimeMs === undefined ? {} : { mtimeMs: event.mtimeMs }),
      };
    case 'symlink':
      return {
        kind: 'symlink',
        target: event.target,
        ...owned,
        ...(event.mtimeMs === undefined ? {} : { mtimeMs: event.mtimeMs }),
      };
  }
}

/** Fills an empty index from the topic's records of `source`. */
export async function rebuildIndexFromTopic(
  kafka: Kafka,
  topic: string,
  source: string,
  index: SourceIndex,
  logger: Logger,
): Promise<RebuildResult> {
  const rebuild = new IndexRebuild(index, source);
  const total = await readTopicToEnd(kafka, topic, {
    groupPrefix: GROUP_PREFIX.producerIndexRebuild,
    onBatch: (messages) => rebuild.apply(messages),
  });
  const result = rebuild.finish();
  if (total > 0) logger.info({ topic, ...result }, 'index rebuilt from the topic');
  return result;
}
