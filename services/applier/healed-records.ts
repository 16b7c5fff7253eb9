// Records the apply lane applies once more, out of band: they were dead-lettered for
// missing or corrupt content, and that content is back in the store (heal-channel.ts).
// Their offsets are long past, so positions are not touched; decide skips a record
// whose path moved on meanwhile.
import type { ApplyLaneDeps } from './apply-lane-deps.ts';
import type { LaneRecord } from './partition-queues.ts';
import type { ApplyOutcome } from './record-applier.ts';

/** An error of the index's database (SQLite may have rolled its transaction back). */
export function isIndexError(error: unknown): boolean {
  return (
    typeof (error as { code?: unknown } | null)?.code === 'string' &&
    (error as { code: string }).code.startsWith('SQLITE_')
  );
}

export class HealedRecords {
  private waiting: LaneRecord[] = [];

  constructor(
    private readonly deps: Pick<ApplyLaneDeps, 'applier' | 'logger' | 'onReapplied'>,
    private readonly lane: { loseIndex(error: unknown): void; indexLost(): boolean },
  ) {}

  add(records: readonly LaneRecord[]): void {
    for (const record of records)
      this.waiting.push({ ...record, contentKey: undefined, prefetched: false, reapplied: true });
  }

  /** Applies what add() queued; returns how many were finished. A record still waiting (for content) stays. */
  apply(): number {
    if (this.waiting.length === 0) return 0;
    const still: LaneRecord[] = [];
    let done = 0;
    for (const record of this.waiting) {
      let outcome: ApplyOutcome | 'failed';
      try {
        outcome = this.deps.applier.apply(record);
      } catch (error) {
        if (isIndexError(error)) this.lane.loseIndex(error);
        else
          this.deps.logger.warn(
            { err: error, partition: record.partition, offset: record.offset },
            'cannot apply a healed record; it stays dead-lettered',
          );
        outcome = 'failed';
      }
      if (outcome === 'blocked' || outcome === 'waits') still.push(record);
      else if (!this.lane.indexLost()) this.deps.onReapplied?.(record);
      if (outcome === 'done') done++;
    }
    this.waiting = still;
    return done;
  }
}
