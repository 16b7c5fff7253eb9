// The apply lane's file writes in flight on libuv's pool (parallel apply). A record whose
// decision is a plain write of bytes in memory is recorded in the index at once and
// finished from the lane's view, while its write goes on in parallel with the next
// records; domain/pending-paths.ts says which later decisions must wait for it. Its offset
// is held (the durable position stays before it) until the write is done, and every
// durability point waits for all of them first, so the order stays: filesystem durable,
// then the index, then offsets. A write that fails is undone in the index and its record
// goes back to its partition, to be applied again synchronously.
import { PendingPaths } from './domain/pending-paths.ts';
import type { ApplierMetrics } from './metrics.ts';
import type { LaneRecord } from './partition-queues.ts';
import type { Positions } from './positions.ts';

export interface WritesInFlightHooks {
  readonly positions: Positions;
  readonly metrics: Pick<ApplierMetrics, 'parallelWrites' | 'writesInFlight'>;
  /** A write finished (either way): records waiting for its path may go on. */
  settled(): void;
  /** A write failed and was undone in the index: `record` must be applied again. */
  failed(record: LaneRecord, error: unknown): void;
  /** A failed write could not be undone in the index: it no longer says what the disk holds. */
  indexFailed(error: unknown): void;
}

export class WritesInFlight {
  readonly paths = new PendingPaths();
  private readonly jobs = new Set<Promise<void>>();

  constructor(
    /** How many writes may be in flight at once. */
    readonly limit: number,
    private readonly hooks: WritesInFlightHooks,
  ) {}

  get size(): number {
    return this.jobs.size;
  }

  get full(): boolean {
    return this.jobs.size >= this.limit;
  }

  /**
   * Tracks the write of `path` for `record`, already recorded in the index; `undo` puts
   * the index back as it was before, should the write fail.
   */
  track(record: LaneRecord, path: string, write: Promise<void>, undo: () => void): void {
    const { positions } = this.hooks;
    this.paths.add(path);
    if (!record.reapplied) positions.hold(record.partition, record.offset);
    const job: Promise<void> = write
      .then(
        () => {
          if (!record.reapplied) positions.release(record.partition, record.offset);
          this.hooks.metrics.parallelWrites.inc({ outcome: 'done' });
        },
        // The offset stays held: the record is not applied until it is applied again.
        (error: unknown) => {
          this.hooks.metrics.parallelWrites.inc({ outcome: 'redone' });
          try {
            undo();
          } catch (indexError) {
            return this.hooks.indexFailed(indexError);
          }
          this.hooks.failed(record, error);
        },
      )
      .finally(() => {
        this.paths.delete(path);
        this.jobs.delete(job);
        this.hooks.metrics.writesInFlight.set(this.jobs.size);
        this.hooks.settled();
      });
    this.jobs.add(job);
    this.hooks.metrics.writesInFlight.set(this.jobs.size);
  }

  /** Resolves once no write is in flight (those started meanwhile included). */
  async drain(): Promise<void> {
    while (this.jobs.size > 0) await Promise.all(this.jobs);
  }
}
