// The producer's loop: hint → (quiet window) → examine + upload (N workers) → publish
// (one ordered stage) → index. A path is in at most one stage at a time; a hint for a
// path already in flight is kept and replayed once it is published. Memory is bounded:
// workers stop taking hints while too much waits to be published, and past a limit
// hints are dropped and a reconcile is requested instead (the index and the walk then
// find everything that changed meanwhile).
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { readMode } from './domain/examine-plan.ts';
import { HintQueue } from './domain/hint-queue.ts';
import type { Observation } from './domain/observation.ts';
import { ReadyQueue } from './domain/ready-queue.ts';
import type { ProducerMetrics } from './metrics.ts';
import type { BatchPublisher, DeleteAdmission, PathExaminer, PipelineDeps, PipelineOptions } from './pipeline-deps.ts';
import { PipelineWakeup } from './pipeline-wakeup.ts';

const MAX_DELAY_FACTOR = 25;
const MAX_RETRY_DELAY_MS = 10_000;

export class Pipeline {
  private readonly hints: HintQueue;
  private readonly inFlight = new Set<string>();
  private readonly hintedAgain = new Set<string>();
  private readonly attempts = new Map<string, number>();
  /** Files that were not at rest when read, since when. */
  private readonly unstableSince = new Map<string, number>();
  private readonly ready = new ReadyQueue();
  private running = false;
  private readonly wakeup: PipelineWakeup;
  private idleWaiters: (() => void)[] = [];
  private roomWaiters: { below: number; resolve: () => void }[] = [];
  private loops: Promise<void>[] = [];
  private droppedHints = false;
  private abandoned = false;

  private readonly examiner: PathExaminer;
  private readonly publisher: BatchPublisher;
  private readonly metrics: ProducerMetrics;
  private readonly logger: Logger;
  private readonly clock: Clock;

  constructor(
    deps: PipelineDeps,
    private readonly options: PipelineOptions,
  ) {
    ({
      examiner: this.examiner,
      publisher: this.publisher,
      metrics: this.metrics,
      logger: this.logger,
      clock: this.clock,
    } = deps);
    this.onHintsDropped = deps.onHintsDropped;
    this.hasPendingWalks = deps.hasPendingWalks;
    this.deletes = deps.deletes ?? { admit: (batch) => [...batch], judging: false };
    this.hints = new HintQueue(options.quietMs, options.quietMs * MAX_DELAY_FACTOR);
    this.wakeup = new PipelineWakeup(this.clock, () => this.hints.nextDue());
  }

  private readonly onHintsDropped: () => void;
  private readonly hasPendingWalks: () => boolean;
  private readonly deletes: DeleteAdmission;

  hint(path: string, delayMs?: number): void {
    if (this.inFlight.has(path)) {
      this.hintedAgain.add(path);
      return;
    }
    if (this.hints.size >= this.options.maxHints && !this.hints.has(path)) {
      this.metrics.hintsDropped.inc();
      // Once per reconcile: the walk that starts next calls takeDroppedHints(), so a later
      // overflow asks for another walk (it may drop what this one has already passed).
      if (!this.droppedHints) {
        this.droppedHints = true;
        this.logger.warn(
          { queued: this.hints.size },
          'too many changes queued; dropping hints until a reconcile catches up',
        );
        this.onHintsDropped();
      }
      return;
    }
    this.hints.add(path, this.clock.now(), delayMs);
    this.wakeup.armTimer();
  }

  start(): void {
    this.running = true;
    for (let i = 0; i < this.options.workers; i++) this.loops.push(this.examineLoop());
    this.loops.push(this.publishLoop());
  }

  /**
   * Resolves once fewer than `below` hints are queued: a walk that finds a whole new
   * tree waits here instead of queueing millions of paths at once.
   */
  roomForHints(below: number): Promise<void> {
    if (this.hints.size < below) return Promise.resolve();
    return new Promise((resolve) => this.roomWaiters.push({ below, resolve }));
  }

  /** Resolves when nothing is queued, examined or unpublished. */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Stops taking hints, finishes what is being examined and publishes what is ready.
   * Gives up after `timeoutMs` (Kafka down): what was not published is then not in the
   * index either, so the next start's reconcile publishes it.
   */
  async stop(timeoutMs = 15_000): Promise<boolean> {
    this.running = false;
    for (const { resolve } of this.roomWaiters.splice(0)) resolve();
    this.wakeup.disarm();
    this.wake();
    let cancel: (() => void) | undefined;
    const flushed = await Promise.race([
      Promise.all(this.loops).then(() => true),
      new Promise<boolean>((resolve) => (cancel = this.clock.setTimeout(() => resolve(false), timeoutMs))),
    ]);
    cancel?.();
    if (!flushed) {
      this.abandoned = true;
      this.logger.warn(
        { unpublished: this.ready.length },
        'stopping without publishing everything: the next start reconciles it',
      );
    }
    return flushed;
  }

  /** Whether hints were dropped since the last call: a reconcile starting now covers them. */
  takeDroppedHints(): boolean {
    const dropped = this.droppedHints;
    this.droppedHints = false;
    return dropped;
  }

  isIdle(): boolean {
    return (
      this.hints.size === 0 &&
      this.inFlight.size === 0 &&
      this.ready.length === 0 &&
      !this.hasPendingWalks() &&
      !this.deletes.judging
    );
  }

  /**
   * Observations the delete guard held and now allows, published as observed, unless
   * the path is being looked at again (that newer look decides). A path still in flight
   * may be in the very batch that held the observation, being published: the batch's end
   * decides (publishLoop), or the delete would be lost until the next periodic walk.
   */
  requeue(observations: readonly Observation[]): void {
    for (const observation of observations) {
      if (this.hints.has(observation.path)) continue;
      if (this.inFlight.has(observation.path)) {
        this.ready.releasedDuringSend(observation);
        continue;
      }
      this.inFlight.add(observation.path);
      this.ready.push(observation);
    }
    this.wake();
    this.updateGauges();
  }

  /** Paths waiting to be examined. */
  get queuedHints(): number {
    return this.hints.size;
  }

  /** Re-checks idleness and room after work outside the pipeline finished. */
  poke(): void {
    this.updateGauges();
  }

  private updateGauges(): void {
    this.metrics.hintsQueued.set(this.hints.size);
    if (this.roomWaiters.length > 0) {
      const waiting = this.roomWaiters;
      this.roomWaiters = waiting.filter(({ below }) => this.hints.size >= below);
      for (const waiter of waiting) if (this.hints.size < waiter.below) waiter.resolve();
    }
    this.metrics.pendingPublish.set(this.ready.length);
    this.metrics.inFlight.set(this.inFlight.size);
    if (this.isIdle() && this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const resolve of waiters) resolve();
    }
  }

  private wake(): void {
    this.wakeup.wake();
  }

  private sleep(): Promise<void> {
    return this.wakeup.sleep();
  }

  private async examineLoop(): Promise<void> {
    while (this.running) {
      if (
        this.ready.length + this.inFlight.size >= this.options.maxPending ||
        this.ready.bytes >= this.options.maxPendingBytes
      ) {
        await this.sleep();
        continue;
      }
      const [next] = this.hints.takeDue(this.clock.now(), 1);
      if (next === undefined) {
        this.updateGauges();
        await this.sleep();
        continue;
      }
      await this.examineOne(next.path, next.firstHintAt);
      this.updateGauges();
    }
  }

  private async examineOne(path: string, firstHintAt: number): Promise<void> {
    if (this.inFlight.has(path)) {
      this.hintedAgain.add(path);
      return;
    }
    this.inFlight.add(path);
    let retry = false;
    try {
      const snapshot =
        readMode(this.unstableSince.get(path), this.clock.now(), this.options.maxUnstableMs) === 'snapshot';
      const result = await this.examiner.examine(path, firstHintAt, { snapshot });
      if (result.kind === 'retry' && result.changed && !this.unstableSince.has(path))
        this.unstableSince.set(path, this.clock.now());
      if (result.kind !== 'retry') this.unstableSince.delete(path);
      if (result.kind === 'observed') {
        this.attempts.delete(path);
        this.ready.push(result.observation);
        this.wake();
        return;
      }
      retry = result.kind === 'retry';
    } catch (error) {
      this.metrics.errors.inc({ kind: 'examine' });
      this.logger.warn({ err: error, path }, 'examining a path failed; retrying');
      retry = true;
    }
    this.inFlight.delete(path);
    this.ready.forget(path);
    this.wake();
    if (retry) {
      const attempt = (this.attempts.get(path) ?? 0) + 1;
      this.attempts.set(path, attempt);
      this.hints.add(path, this.clock.now(), Math.min(MAX_RETRY_DELAY_MS, this.options.quietMs * 2 ** attempt));
    } else {
      this.attempts.delete(path);
      this.replayHint(path);
    }
  }

  private replayHint(path: string): void {
    if (this.hintedAgain.delete(path)) this.hint(path);
  }

  private async publishLoop(): Promise<void> {
    let failures = 0;
    for (;;) {
      if (this.ready.length === 0) {
        // Stopping: done once nothing examined is left to publish.
        if (!this.running && this.inFlight.size === 0) break;
        await this.sleep();
        continue;
      }
      const batch = this.ready.nextBatch(this.options);
      const admitted = this.deletes.admit(batch);
      try {
        if (admitted.length > 0) await this.publisher.publish(admitted);
        failures = 0;
      } catch (error) {
        if (this.abandoned) return;
        failures++;
        this.metrics.errors.inc({ kind: 'publish' });
        this.logger.warn({ err: error, batch: batch.length, failures }, 'publishing failed; retrying');
        await new Promise<void>((resolve) =>
          this.clock.setTimeout(resolve, Math.min(MAX_RETRY_DELAY_MS, 100 * 2 ** failures)),
        );
        continue;
      }
      for (const path of this.ready.sent(batch, new Set(admitted))) {
        this.inFlight.delete(path);
        this.replayHint(path);
      }
      this.updateGauges();
      this.wake();
    }
  }
}
