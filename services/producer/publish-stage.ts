// The ordered stage that publishes: plan the batch (domain/to-events.ts: diff against the
// index, seqs, index writes), send the records to Kafka, and only once the broker
// acknowledged them apply the index writes, in one short transaction. Content was uploaded
// before an observation got here, so no event ever references missing content. A failed
// send leaves the index untouched: the caller retries the batch, which is planned again.
import { encodeRecord, type EncodedRecord } from '../../schemas/codec.ts';
import type { MirrorEvent } from '../../schemas/event.ts';
import { META_KEY } from '../../schemas/names.ts';
import type { Clock } from '../shared/clock.ts';
import type { Observation } from './domain/observation.ts';
import type { SeqClock } from './domain/seq-clock.ts';
import { planBatch } from './domain/to-events.ts';
import type { ProducerMetrics } from './metrics.ts';
import type { SourceIndex } from './ports/source-index.ts';
import type { SourceTree } from './ports/source-tree.ts';

export type PublishStageDeps = {
  tree: SourceTree;
  source: string;
  index: SourceIndex;
  seqClock: SeqClock;
  send: (records: readonly EncodedRecord[]) => Promise<void>;
  metrics: ProducerMetrics;
  clock: Clock;
  /** A directory was published for the first time as the parent of another entry: examine it fully. */
  hint: (path: string) => void;
};

export class PublishStage {
  constructor(private readonly deps: PublishStageDeps) {}

  /** Publishes one batch; resolves once Kafka acknowledged it and the index recorded it. */
  async publish(batch: readonly Observation[]): Promise<number> {
    const { index, seqClock, tree } = this.deps;
    const plan = planBatch(batch, {
      source: this.deps.source,
      index,
      clock: seqClock,
      dirModeNow: (path) => {
        const found = tree.lstat(path);
        return found.kind === 'dir' ? found.mode : undefined;
      },
    });
    const records = plan.events.map((event) => encodeRecord(event));
    await this.deps.send(records);
    index.apply(plan.writes, { [META_KEY.lastSeq]: String(seqClock.lastIssued) });
    for (const dir of plan.examine) this.deps.hint(dir);
    this.count(batch, plan.events);
    return records.length;
  }

  private count(batch: readonly Observation[], events: readonly MirrorEvent[]): void {
    const { metrics } = this.deps;
    const now = this.deps.clock.now();
    for (const { op } of events) metrics.eventsPublished.inc({ op });
    for (const observation of batch) metrics.publishLatency.observe((now - observation.firstHintAt) / 1000);
    if (events.length > 0) {
      metrics.lastSeq.set(this.deps.seqClock.lastIssued);
      metrics.lastPublishTime.set(now / 1000);
    }
  }
}
