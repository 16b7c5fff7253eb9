// The apply lane: one serialized executor for every partition. Records of different
// partitions touch related paths (a directory and its entries live in different
// partitions) and `decide` reads one shared index, so applying them concurrently would
// race; instead the lane applies ready records round-robin across partitions, in time
// slices of synchronous work, yielding to the event loop between slices (fetches,
// downloads and heartbeats go on meanwhile). A partition whose next record waits for
// content is passed over, so it never holds the others up. Plain writes of small files go
// on in parallel on libuv's pool (writes-in-flight.ts) while the lane decides the next
// records. What it applies is made durable and committed at durability points
// (durability-points.ts), each of which waits for every write in flight first.
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { ApplyLaneDeps, ApplyLaneOptions } from './apply-lane-deps.ts';
import { DurabilityPoints } from './durability-points.ts';
import { LaneWakeup, RoomWaiters } from './lane-signals.ts';
import { PartitionQueues, type LaneRecord } from './partition-queues.ts';
import { HealedRecords, isIndexError } from './healed-records.ts';
import { PartitionRetries } from './partition-retries.ts';
import { SPACE_CHECK_MS, StateSpaceHold } from './state-space-hold.ts';
import { sleep } from '../shared/clock.ts';

const BURST = 64;

export class ApplyLane {
  private readonly queues = new PartitionQueues();
  private readonly blocked = new Map<number, string>();
  private readonly durability: DurabilityPoints;
  private stopping = false;
  private readonly wakeup: LaneWakeup;
  private readonly roomWaiters = new RoomWaiters();
  /** Partitions whose next record failed (a filesystem error): retried after a backoff, the others go on. */
  private readonly retries = new PartitionRetries();
  /** Records prefetched and not yet finished. */
  private ahead = 0;
  private nextMaintenanceAt: number;
  private finished: Promise<void> | undefined;
  private readonly healed: HealedRecords;
  private readonly space: StateSpaceHold;
  /** Records whose write in flight failed, put back to be applied again synchronously. */
  private requeued = 0;
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
    this.durability = new DurabilityPoints(deps, options, (error) => this.loseIndex(error));
    this.wakeup = new LaneWakeup(deps.clock);
    this.space = new StateSpaceHold(deps);
    this.healed = new HealedRecords(deps, {
      loseIndex: (error) => this.loseIndex(error),
      indexLost: () => this.indexLost !== undefined,
    });
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
    if (this.space.reason !== undefined) return this.space.reason;
    const failing = this.retries.first();
    return failing === undefined ? undefined : `partition ${failing.partition}: ${failing.message}`;
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

  private queueFull(): boolean {
    return this.queues.size >= this.options.maxQueued || this.queues.bytes >= this.options.maxQueuedBytes;
  }

  /** Resolves once the queue has room again (backpressure on fetching); heartbeats meanwhile. */
  async waitForRoom(heartbeat: () => Promise<void>): Promise<void> {
    while (!this.stopping && this.queueFull()) {
      const room = this.roomWaiters.next();
      await Promise.race([room, sleep(this.deps.clock, 1000)]);
      await heartbeat();
    }
  }

  /**
   * Applies records again whose offsets are long past (their content is back in the
   * store). Positions are not touched; decide skips a record whose path moved on.
   */
  reapply(records: LaneRecord[]): void {
    this.healed.add(records);
    this.wake();
  }

  wake(): void {
    this.wakeup.wake();
  }

  start(): Promise<void> {
    this.finished ??= this.run();
    return this.finished;
  }

  /** Stops after the record in hand, then makes what was applied durable and committed. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake();
    this.roomWaiters.release();
    await this.finished?.catch(() => undefined); // a failed run was reported by start()'s promise
    await this.deps.writes?.drain(); // they use the target root's fd, closed after this
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      this.wakeup.reset();
      if (this.holding()) {
        await this.wait(SPACE_CHECK_MS);
        continue;
      }
      const done = this.applyHealed() + this.applySlice();
      const rebuild = this.deps.rebuild();
      if (rebuild?.active) {
        const next = this.deps.positions.next();
        rebuild.progress(next);
        if (rebuild.replayComplete(next) && this.blocked.size === 0) {
          await this.durabilityPoint();
          // A write in flight failed: its record is applied again before the sweep.
          if (this.requeued === 0) {
            await rebuild.sweep(() => this.stopping);
            await this.durabilityPoint(true);
          }
        }
      }
      if (this.durability.due()) await this.durabilityPoint();
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
    this.retries.clear();
    this.ahead = 0;
    if (this.indexLost === undefined) await this.durabilityPoint(true); // drains the writes; stop() does too
  }

  private applyHealed(): number {
    const done = this.healed.apply();
    this.durability.applied(done);
    return done;
  }

  /** Whether the lane must not apply now: the index is lost, or the state directory is full. */
  private holding(): boolean {
    if (this.indexLost !== undefined) return true;
    return this.space.holding();
  }

  /** The index failed mid-transaction (also when a failed write in flight cannot be undone in it). */
  loseIndex(error: unknown): void {
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
          if (record === undefined || this.deps.writes?.full === true) break;
          if (this.retries.backingOff(partition, this.deps.clock.now())) break;
          const waitingFor = this.blocked.get(partition);
          if (waitingFor !== undefined && this.deps.supply.outcome(waitingFor).kind === 'pending') break;
          this.blocked.delete(partition);
          if (!this.applyOne(record)) break;
          this.queues.shift(partition);
          if (record.prefetched) this.ahead--;
          this.deps.positions.applied(partition, record.offset);
          if (record.synchronous === true) this.rewritten(record);
          done++;
          progressed = true;
        }
      }
      if (!progressed) break;
    }
    if (done > 0) {
      this.prefetchAhead();
      this.durability.applied(done);
      this.deps.metrics.queuedRecords.set(this.queues.size);
      this.deps.metrics.bufferedContentBytes.set(this.deps.supply.heldBytes);
      if (!this.queueFull()) this.roomWaiters.release();
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
      if (outcome === 'waits') return false; // woken when a write in flight settles
      if (this.retries.recovered(record.partition))
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
      if (this.retries.failed(record.partition, message, this.deps.clock.now()))
        this.deps.logger.error(
          { err: error, partition: record.partition, offset: record.offset },
          'cannot apply a record; retrying',
        );
      return false;
    }
  }

  /** A write in flight failed and was undone in the index: its record is applied again first, synchronously. */
  writeFailed(record: LaneRecord, error: unknown): void {
    const { partition, offset } = record;
    this.deps.logger.debug({ err: error, partition, offset }, 'a parallel write failed; applying it again in order');
    record.synchronous = true;
    record.prefetched = false;
    this.requeued++;
    this.queues.unshift(partition, record);
    this.wake();
  }

  /** A record whose write in flight failed is finished after all: its offset is no longer held. */
  private rewritten(record: LaneRecord): void {
    this.requeued--;
    this.deps.positions.release(record.partition, record.offset);
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

  private async durabilityPoint(force = false): Promise<void> {
    // What is committed must be on disk: no write may still be in flight.
    await this.deps.writes?.drain();
    if (this.indexLost !== undefined) return; // what the index lost must never be committed past
    await this.durability.reach(force);
  }

  /** How long to wait when nothing is ready: until the next durability point or retry is due. */
  private idleMs(): number {
    return Math.max(1, this.retries.untilNextRetry(this.durability.dueInMs(), this.deps.clock.now()));
  }

  /** Waits for wake() (new records, settled content, stop) or `ms`. */
  private wait(ms: number): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return this.wakeup.wait(ms);
  }
}
