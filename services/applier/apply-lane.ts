// The apply lane: one serialized executor for every partition. Records of different
// partitions touch related paths (a directory and its entries live in different
// partitions) and `decide` reads one shared index, so applying them concurrently would
// race; instead the lane applies ready records round-robin across partitions, in time
// slices of synchronous work, yielding to the event loop between slices (fetches,
// downloads and heartbeats go on meanwhile). A partition whose next record waits for
// content is passed over, so it never holds the others up.
//
// Durability points (every commitInterval, every maxUncommitted records, before and after
// a sweep, at stop), in this order:
//   1. the filesystem is made durable (durability.ts),
//   2. the index transaction commits, with the positions it covers,
//   3. Kafka offsets are committed (asynchronously; the group's offsets are for status
//      and lag, the applier resumes from the positions stored with the index).
// So what Kafka says is applied ⊆ what the index says ⊆ what is on disk. After a crash
// the disk may be ahead of the index; the materializer tolerates that.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { ReplicaIndex } from './adapters/applied-index.ts';
import type { ContentSupply } from './adapters/content-supply.ts';
import type { ApplierMetrics } from './metrics.ts';
import { PartitionQueues, type LaneRecord } from './partition-queues.ts';
import { positionsToJson, samePositions, type Positions } from './positions.ts';
import type { RecordApplier } from './record-applier.ts';
import { backoffDelay } from '../shared/retry.ts';
import { sleep, type Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { REPLICA_META_KEY } from '../../schemas/names.ts';

export const POSITIONS_META = REPLICA_META_KEY.positions;

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
  readonly sliceMs: number;
}

export interface ApplyLaneDeps {
  readonly index: ReplicaIndex;
  readonly applier: RecordApplier;
  readonly supply: ContentSupply;
  readonly positions: Positions;
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

const BURST = 64;
const SPACE_CHECK_MS = 1000;

/** An error of the index's database (SQLite may have rolled its transaction back). */
function isIndexError(error: unknown): boolean {
  return (
    typeof (error as { code?: unknown } | null)?.code === 'string' &&
    (error as { code: string }).code.startsWith('SQLITE_')
  );
}

export class ApplyLane {
  private readonly queues = new PartitionQueues();
  private readonly blocked = new Map<number, string>();
  private uncommitted = 0;
  private lastDurableAt: number;
  private lastDurable = new Map<number, number>();
  private stopping = false;
  private wakeup: (() => void) | undefined;
  /** A wake() came while the lane was not waiting: the next wait returns at once. */
  private woken = false;
  private roomWaiters: (() => void)[] = [];
  /** Partitions whose next record failed (a filesystem error): retried after a backoff, the others go on. */
  private readonly failing = new Map<number, { message: string; failures: number; retryAt: number }>();
  /** Records prefetched and not yet finished. */
  private ahead = 0;
  private nextMaintenanceAt: number;
  private finished: Promise<void> | undefined;
  /** Records to apply once more, out of band (their content was healed: heal-channel.ts). */
  private reapplying: LaneRecord[] = [];
  /** The state directory lacks room: nothing is applied until it has some again. */
  private spaceProblem: string | undefined;
  private nextSpaceCheckAt = 0;
  /**
   * The index failed mid-transaction (its disk full?): what it lost since the last
   * durability point cannot be told apart, so nothing more is applied or committed. The
   * applier keeps running and reporting; a restart resumes from the last durable point.
   */
  private indexLost: string | undefined;

  constructor(
    private readonly deps: ApplyLaneDeps,
    private readonly options: ApplyLaneOptions,
  ) {
    this.lastDurableAt = deps.clock.now();
    this.nextMaintenanceAt = deps.clock.now();
  }

  get queued(): number {
    return this.queues.size;
  }

  /** Why the lane cannot apply some records right now (a failing filesystem), for /readyz. */
  get stalled(): string | undefined {
    if (this.indexLost !== undefined)
      return (
        `the index could not be written (${this.indexLost}); ` + 'restart the applier once the state directory has room'
      );
    if (this.spaceProblem !== undefined) return this.spaceProblem;
    for (const [partition, { message }] of this.failing) return `partition ${partition}: ${message}`;
    return undefined;
  }

  /** Adds fetched records of one partition, in offset order. */
  enqueue(partition: number, records: LaneRecord[], highWatermark: number): void {
    const { positions } = this.deps;
    positions.highWatermark(partition, highWatermark);
    if (this.stopping || records.length === 0) return;
    this.queues.push(partition, records);
    this.prefetchAhead();
    positions.fetched(partition, records[records.length - 1]!.offset + 1);
    this.deps.metrics.queuedRecords.set(this.queues.size);
    this.wake();
  }

  /** Resolves once the queue has room again (backpressure on fetching); heartbeats meanwhile. */
  async waitForRoom(heartbeat: () => Promise<void>): Promise<void> {
    while (!this.stopping && this.queues.size >= this.options.maxQueued) {
      const room = new Promise<void>((resolve) => this.roomWaiters.push(resolve));
      await Promise.race([room, sleep(this.deps.clock, 1000)]);
      await heartbeat();
    }
  }

  /**
   * Applies records again whose offsets are long past (their content is back in the
   * store). Positions are not touched; decide skips a record whose path moved on.
   */
  reapply(records: LaneRecord[]): void {
    for (const record of records)
      this.reapplying.push({ ...record, contentKey: undefined, prefetched: false, reapplied: true });
    this.wake();
  }

  wake(): void {
    const wakeup = this.wakeup;
    this.wakeup = undefined;
    if (wakeup === undefined) this.woken = true;
    else wakeup();
  }

  start(): Promise<void> {
    this.finished ??= this.run();
    return this.finished;
  }

  /** Stops after the record in hand, then makes what was applied durable and committed. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    this.releaseRoomWaiters();
    await this.finished?.catch(() => undefined); // a failed run was reported by start()'s promise
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      this.woken = false;
      if (this.holding()) {
        await this.wait(SPACE_CHECK_MS);
        continue;
      }
      const done = this.applyAgain() + this.applySlice();
      const rebuild = this.deps.rebuild();
      if (rebuild?.active) {
        const next = this.deps.positions.next();
        rebuild.progress(next);
        if (rebuild.replayComplete(next) && this.blocked.size === 0) {
          await this.durabilityPoint();
          await rebuild.sweep(() => this.stopping);
          await this.durabilityPoint(true);
        }
      }
      if (this.durabilityDue()) await this.durabilityPoint();
      const { maintenance } = this.deps;
      if (maintenance !== undefined && this.deps.clock.now() >= this.nextMaintenanceAt) {
        const more = maintenance.run();
        this.nextMaintenanceAt = this.deps.clock.now() + (more ? 1000 : maintenance.everyMs);
      }
      if (done > 0) await yieldToEventLoop();
      else await this.wait(this.idleMs());
    }
    for (const record of this.queues.drain()) this.deps.applier.discard(record);
    this.blocked.clear();
    this.failing.clear();
    this.ahead = 0;
    if (this.indexLost === undefined) await this.durabilityPoint(true);
  }

  /** Applies what reapply() queued; a record still waiting for its content stays. */
  private applyAgain(): number {
    if (this.reapplying.length === 0) return 0;
    const waiting: LaneRecord[] = [];
    let done = 0;
    for (const record of this.reapplying) {
      let outcome: 'done' | 'blocked' | 'failed';
      try {
        outcome = this.deps.applier.apply(record);
      } catch (error) {
        if (isIndexError(error)) this.loseIndex(error);
        else
          this.deps.logger.warn(
            { err: error, partition: record.partition, offset: record.offset },
            'cannot apply a healed record; it stays dead-lettered',
          );
        outcome = 'failed';
      }
      if (outcome === 'blocked') waiting.push(record);
      else if (this.indexLost === undefined) this.deps.onReapplied?.(record);
      if (outcome === 'done') done++;
    }
    this.reapplying = waiting;
    this.uncommitted += done;
    return done;
  }

  /** Whether the lane must not apply now: the index is lost, or the state directory is full. */
  private holding(): boolean {
    if (this.indexLost !== undefined) return true;
    const { stateSpace } = this.deps;
    if (stateSpace === undefined) return false;
    const now = this.deps.clock.now();
    if (now >= this.nextSpaceCheckAt) {
      this.nextSpaceCheckAt = now + SPACE_CHECK_MS;
      const problem = stateSpace();
      if (problem !== this.spaceProblem) {
        if (problem !== undefined) this.deps.logger.error({ problem }, 'holding: the state directory has no room');
        else this.deps.logger.info('the state directory has room again; applying');
        if (problem !== undefined) this.deps.metrics.stalls.inc();
      }
      this.spaceProblem = problem;
    }
    return this.spaceProblem !== undefined;
  }

  private loseIndex(error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.deps.metrics.stalls.inc();
    this.deps.logger.error(
      { err: error },
      'the index could not be written; holding (nothing more is applied or committed) until a restart',
    );
    this.indexLost = message;
  }

  /** Applies ready records for about sliceMs; returns how many were finished. */
  private applySlice(): number {
    const deadline = this.deps.clock.now() + this.options.sliceMs;
    let done = 0;
    while (this.deps.clock.now() < deadline && !this.stopping) {
      let progressed = false;
      for (const partition of this.queues.nonEmptyInTurn()) {
        if (this.indexLost !== undefined) break;
        for (let i = 0; i < BURST; i++) {
          const record = this.queues.peek(partition);
          if (record === undefined) break;
          const failed = this.failing.get(partition);
          if (failed !== undefined && this.deps.clock.now() < failed.retryAt) break;
          const waitingFor = this.blocked.get(partition);
          if (waitingFor !== undefined && this.deps.supply.outcome(waitingFor).kind === 'pending') break;
          this.blocked.delete(partition);
          if (!this.applyOne(record)) break;
          this.queues.shift(partition);
          if (record.prefetched) this.ahead--;
          this.deps.positions.applied(partition, record.offset);
          done++;
          progressed = true;
        }
      }
      if (!progressed) break;
    }
    if (done > 0) {
      this.prefetchAhead();
      this.uncommitted += done;
      this.deps.metrics.queuedRecords.set(this.queues.size);
      this.deps.metrics.bufferedContentBytes.set(this.deps.supply.heldBytes);
      if (this.queues.size < this.options.maxQueued) this.releaseRoomWaiters();
    }
    return done;
  }

  /** True when the record is finished; false when it waits for content or failed. */
  private applyOne(record: LaneRecord): boolean {
    try {
      const outcome = this.deps.applier.apply(record);
      if (outcome === 'blocked') {
        this.blocked.set(record.partition, record.contentKey!);
        return false;
      }
      if (this.failing.delete(record.partition))
        this.deps.logger.info({ partition: record.partition, offset: record.offset }, 'applying again');
      return true;
    } catch (error) {
      if (isIndexError(error)) {
        this.loseIndex(error);
        return false;
      }
      // Not the record's fault (a bad record is dead-lettered, not thrown): the disk is
      // full, read-only, failing... Keep the position and retry this partition later.
      this.deps.metrics.stalls.inc();
      const message = error instanceof Error ? error.message : String(error);
      const previous = this.failing.get(record.partition);
      const failures = (previous?.failures ?? 0) + 1;
      if (previous?.message !== message)
        this.deps.logger.error(
          { err: error, partition: record.partition, offset: record.offset },
          'cannot apply a record; retrying',
        );
      this.failing.set(record.partition, {
        message,
        failures,
        retryAt: this.deps.clock.now() + backoffDelay(failures, { minDelayMs: 200, maxDelayMs: 30_000, jitter: false }),
      });
      return false;
    }
  }

  /** Registers the content of upcoming records, up to the window, in apply order. */
  private prefetchAhead(): void {
    while (this.ahead < this.options.prefetchWindow) {
      const record = this.queues.nextToPrefetch();
      if (record === undefined) return;
      record.prefetched = true;
      this.ahead++;
      this.deps.applier.prefetch(record);
    }
  }

  private durabilityDue(): boolean {
    if (this.uncommitted >= this.options.maxUncommitted) return true;
    if (this.deps.clock.now() - this.lastDurableAt < this.options.commitIntervalMs) return false;
    return this.uncommitted > 0 || !samePositions(this.deps.positions.durable(), this.lastDurable);
  }

  private async durabilityPoint(force = false): Promise<void> {
    if (this.indexLost !== undefined) return; // what the index lost must never be committed past
    const positions = this.deps.positions.durable();
    if (!force && this.uncommitted === 0 && samePositions(positions, this.lastDurable)) return;
    const started = this.deps.clock.now();
    try {
      await this.deps.makeDurable();
    } catch (error) {
      // Nothing is committed: the work stays redeliverable. Try again at the next point.
      this.deps.logger.error({ err: error }, 'cannot make the replica durable; not committing');
      this.deps.metrics.stalls.inc();
      this.lastDurableAt = this.deps.clock.now();
      return;
    }
    try {
      this.deps.index.writeMeta(POSITIONS_META, positionsToJson(positions));
      this.deps.index.commit();
      this.deps.afterIndexCommit();
    } catch (error) {
      // The state directory is full (or failing): hold and report; never exit.
      this.loseIndex(error);
      return;
    }
    this.uncommitted = 0;
    this.lastDurable = positions;
    this.lastDurableAt = this.deps.clock.now();
    this.deps.metrics.durabilityPoint.observe((this.lastDurableAt - started) / 1000);
    for (const [partition, offset] of positions) {
      this.deps.metrics.committedOffset.set({ partition: String(partition) }, offset);
      const lag = this.deps.positions.lag(partition);
      if (lag !== undefined) this.deps.metrics.lag.set({ partition: String(partition) }, lag);
    }
    this.deps.commitOffsets(positions);
  }

  /** How long to wait when nothing is ready: until the next durability point or retry is due. */
  private idleMs(): number {
    let ms =
      this.uncommitted > 0
        ? this.options.commitIntervalMs - (this.deps.clock.now() - this.lastDurableAt)
        : this.options.commitIntervalMs;
    for (const { retryAt } of this.failing.values()) ms = Math.min(ms, retryAt - this.deps.clock.now());
    return Math.max(1, ms);
  }

  /** Waits for wake() (new records, settled content, stop) or `ms`. */
  private wait(ms: number): Promise<void> {
    if (this.woken || this.stopping) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const cancel = this.deps.clock.setTimeout(() => this.wake(), ms);
      this.wakeup = () => {
        cancel();
        resolve();
      };
    });
  }

  private releaseRoomWaiters(): void {
    const waiters = this.roomWaiters;
    this.roomWaiters = [];
    for (const resolve of waiters) resolve();
  }
}
