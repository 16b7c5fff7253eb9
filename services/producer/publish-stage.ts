// The one place that turns observations into events: in order, diff each against the
// index (which already includes the batches before it), give every change the next seq,
// record it in an open index transaction, send the batch to Kafka, and commit the
// index only once the broker acknowledged. Content was uploaded before an observation
// got here, so no event ever references missing content.
import path from 'node:path';
import { encodeRecord, type EncodedRecord } from '../../schemas/codec.ts';
import type { EntryState, MirrorEvent } from '../../schemas/event.ts';
import { ancestorsOf, type RelPath } from '../../schemas/rel-path.ts';
import type { SqliteSourceIndex } from './adapters/sqlite-source-index.ts';
import { probe } from './adapters/source-fs.ts';
import { diffPath, type Change } from './domain/diff.ts';
import type { SeqClock } from './domain/seq-clock.ts';
import type { Observation } from './examiner.ts';
import type { ProducerMetrics } from './metrics.ts';

export type PublishStageDeps = {
  root: string;
  source: string;
  index: SqliteSourceIndex;
  clock: SeqClock;
  send: (records: readonly EncodedRecord[]) => Promise<void>;
  metrics: ProducerMetrics;
  now: () => number;
  /** A directory was published for the first time as the parent of another entry: examine it fully. */
  hint: (path: string) => void;
};

export const LAST_SEQ_KEY = 'lastSeq';

export class PublishStage {
  constructor(private readonly deps: PublishStageDeps) {}

  /**
   * Publishes one batch. Resolves once Kafka acknowledged it and the index committed;
   * rejects (with the index rolled back) if the send failed, so the caller can retry.
   */
  async publish(batch: readonly Observation[]): Promise<number> {
    const { index, clock } = this.deps;
    const records: EncodedRecord[] = [];
    const ops: MirrorEvent['op'][] = [];
    index.begin();
    try {
      for (const observation of batch) {
        for (const event of this.eventsFor(observation)) {
          records.push(encodeRecord(event));
          ops.push(event.op);
        }
      }
      index.setMeta(LAST_SEQ_KEY, String(clock.lastIssued));
      await this.deps.send(records);
      index.commit();
    } catch (error) {
      index.rollback();
      throw error;
    }
    const now = this.deps.now();
    for (const op of ops) this.deps.metrics.eventsPublished.inc({ op });
    for (const observation of batch) this.deps.metrics.publishLatency.observe((now - observation.firstHintAt) / 1000);
    if (records.length > 0) {
      this.deps.metrics.lastSeq.set(clock.lastIssued);
      this.deps.metrics.lastPublishTime.set(now / 1000);
    }
    return records.length;
  }

  private eventsFor(observation: Observation): MirrorEvent[] {
    const { index } = this.deps;
    const events: MirrorEvent[] = [];
    if (observation.observed !== undefined) {
      // Every indexed entry's parent is indexed as a directory; otherwise a reconcile
      // could never reach the entry again. A parent gone meanwhile makes this stale.
      for (const ancestor of ancestorsOf(observation.path) as RelPath[]) {
        const known = index.get(ancestor);
        if (known?.state.kind === 'dir') continue;
        const found = probe(path.join(this.deps.root, ancestor));
        if (found.kind !== 'dir') return [];
        events.push(...this.apply(diffPath(ancestor, known?.state, { kind: 'dir', mode: found.mode }, () => index.below(ancestor)), observation, undefined));
        this.deps.hint(ancestor);
      }
    }
    const indexed = index.get(observation.path);
    const changes = diffPath(observation.path, indexed?.state, observation.observed, () => index.below(observation.path));
    events.push(...this.apply(changes, observation, observation.fingerprint));
    if (changes.length === 0 && indexed !== undefined && observation.observed !== undefined && observation.fingerprint !== undefined) {
      // Same state, new stat (e.g. touched back, or rebuilt from the topic): remember
      // the fingerprint so the next reconcile does not read the file again.
      index.put(observation.path, indexed.state, indexed.seq, observation.fingerprint);
    }
    return events;
  }

  private apply(changes: Change[], observation: Observation, fingerprint: Observation['fingerprint']): MirrorEvent[] {
    const { index, clock, source } = this.deps;
    return changes.map(({ path: changed, next }) => {
      const seq = clock.next();
      const base = { source, seq, ts: observation.firstHintAt, path: changed };
      if (next === null) {
        index.remove(changed);
        return { ...base, op: 'delete' };
      }
      const own = changed === observation.path;
      index.put(changed, next, seq, own ? fingerprint : undefined);
      const event = toEvent(base, next);
      return own && event.op === 'file' && observation.data !== undefined ? { ...event, data: observation.data } : event;
    });
  }
}

function toEvent(base: { source: string; seq: number; ts: number; path: RelPath }, state: EntryState): MirrorEvent {
  switch (state.kind) {
    case 'file':
      return { ...base, op: 'file', size: state.size, mode: state.mode, mtimeMs: state.mtimeMs, hash: state.hash };
    case 'dir':
      return { ...base, op: 'dir', mode: state.mode };
    case 'symlink':
      return { ...base, op: 'symlink', target: state.target };
  }
}
