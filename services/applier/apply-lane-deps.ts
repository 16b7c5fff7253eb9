// What the apply lane (apply-lane.ts) is given: its tuning, and the parts it drives.
import type { ReplicaIndex } from './adapters/applied-index.ts';
import type { ContentSupply } from './adapters/content-supply.ts';
import type { ApplierMetrics } from './metrics.ts';
import type { LaneRecord } from './partition-queues.ts';
import type { Positions } from './positions.ts';
import type { RecordApplier } from './record-applier.ts';
import type { WritesInFlight } from './writes-in-flight.ts';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';

/** What the lane needs from a rebuild in progress (rebuild.ts). */
export interface RebuildHooks {
  readonly active: boolean;
  /** Called after each slice with the next offsets to apply; reports progress. */
  progress(next: ReadonlyMap<number, number>): void;
  replayComplete(next: ReadonlyMap<number, number>): boolean;
  /** Removes what the replay did not touch and marks the rebuild complete in the index (unless stopped first). */
  sweep(shouldStop: () => boolean): Promise<void>;
}

export interface ApplyLaneOptions {
  /** Records looked at ahead of the apply cursor (their content fetched meanwhile). */
  readonly prefetchWindow: number;
  readonly commitIntervalMs: number;
  readonly maxUncommitted: number;
  readonly maxQueued: number;
  /** About how much memory fetched records may hold before fetching waits (inline content makes them large). */
  readonly maxQueuedBytes: number;
  readonly sliceMs: number;
  /** File writes in flight at once on libuv's pool (0: every write synchronous, on the lane). */
  readonly maxWritesInFlight: number;
}

export interface ApplyLaneDeps {
  readonly index: ReplicaIndex;
  readonly applier: RecordApplier;
  readonly supply: ContentSupply;
  readonly positions: Positions;
  /** The record applier's writes in flight, if it applies in parallel. */
  readonly writes?: WritesInFlight;
  /** Step 1 of a durability point. */
  readonly makeDurable: () => Promise<void>;
  /** After step 2: temp files of this period are all renamed. */
  readonly afterIndexCommit: () => void;
  /** Step 3, fire and forget (the caller serializes and retries). */
  readonly commitOffsets: (positions: Map<number, number>) => void;
  readonly rebuild: () => RebuildHooks | undefined;
  /**
   * Housekeeping run between slices every `everyMs` (e.g. pruning old tombstones); returns whether it should run
   * again soon.
   */
  readonly maintenance?: { everyMs: number; run(): boolean };
  /** A record given to reapply() was applied, or failed for good (heal-channel.ts: its wait is over). */
  readonly onReapplied?: (record: LaneRecord) => void;
  /** Why the state directory cannot take more work now (state-space.ts); asked about once a second. */
  readonly stateSpace?: () => string | undefined;
  /** Intervals and timers: commit intervals, retry backoffs, maintenance, waits. */
  readonly clock: Clock;
  readonly metrics: ApplierMetrics;
  readonly logger: Logger;
}
