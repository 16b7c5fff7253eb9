// A rebuild in progress: replay the log from the earliest offsets to the high watermarks
// captured when it started, touching every path the replay meets (a new index epoch),
// then sweep: remove what the replayed log does not contain — index entries left in
// older epochs and files on disk the index does not know. The state is persisted in
// the index, so a crash mid-rebuild resumes it (positions are stored in the same
// transactions as the touches, so nothing replayed is lost), and a crash mid-sweep
// sweeps again (the sweep is idempotent).
import { nameFromBytes } from '../../schemas/name-bytes.ts';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { joinRel, type RelPath } from '../../schemas/rel-path.ts';
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { createProgress, type Progress } from '../shared/progress.ts';
import type { ReplicaIndex } from './adapters/applied-index.ts';
import { fsat } from '../shared/native/fsat.ts';
import type { FsMaterializer } from './adapters/fs-materializer.ts';
import { UnsafePathError, type TargetRoot } from './adapters/target-root.ts';
import type { RebuildHooks } from './apply-lane-deps.ts';
import {
  estimateRemainingMs,
  formatDuration,
  replayProgress,
  type RebuildReason,
  type ReplayProgress,
} from './domain/rebuild-policy.ts';
import { isTempNameOf } from './domain/temp-name.ts';
import type { ApplierMetrics } from './metrics.ts';
import { positionsFromJson } from './positions.ts';
import { REPLICA_META_KEY } from '../../schemas/names.ts';

export const REBUILD_META = REPLICA_META_KEY.rebuild;

/** What the index keeps about a rebuild in progress (null once complete). */
export type RebuildState = {
  readonly epoch: number;
  readonly reason: RebuildReason;
  /** Offsets the replay starts from and must reach, per partition. */
  readonly start: Record<string, number>;
  readonly end: Record<string, number>;
  readonly startedAt: string;
  /** The target held files the index did not know: a file may already hold its content. */
  readonly adopt: boolean;
};

export interface RebuildDeps {
  readonly index: ReplicaIndex;
  readonly fs: FsMaterializer;
  readonly root: TargetRoot;
  /** Temp files of these runs may be in use: the sweep leaves them alone. */
  readonly liveTokens: ReadonlySet<string>;
  readonly metrics: ApplierMetrics;
  readonly logger: Logger;
  /** Progress reports and time slices (no timers are set). */
  readonly clock: Clock;
  readonly progressEveryMs?: number;
}

const SLICE_MS = 20;

export class RebuildController implements RebuildHooks {
  private done = false;
  private readonly start: Map<number, number>;
  private readonly end: Map<number, number>;
  private readonly startedAt: number;
  private doneAtStart: number | undefined;
  private lastReport = 0;
  /** A bar on a terminal; elsewhere the log lines below are the progress. */
  private bar: Progress | undefined = process.stderr.isTTY
    ? createProgress('rebuild replay', { unit: 'records' })
    : undefined;
  private shouldStop: () => boolean = () => false;

  constructor(
    readonly state: RebuildState,
    private readonly deps: RebuildDeps,
  ) {
    this.start = positionsFromJson(state.start);
    this.end = positionsFromJson(state.end);
    this.startedAt = deps.clock.now();
    deps.metrics.rebuilding.set(1);
  }

  get active(): boolean {
    return !this.done;
  }

  /** The replay's progress so far. */
  progressOf(next: ReadonlyMap<number, number>): ReplayProgress {
    return replayProgress(this.start, this.end, next);
  }

  progress(next: ReadonlyMap<number, number>): void {
    const progress = this.progressOf(next);
    this.doneAtStart ??= progress.done;
    this.deps.metrics.rebuildProgress.set(progress.ratio);
    this.bar?.update(progress.done, progress.total);
    const now = this.deps.clock.now();
    if (now - this.lastReport < (this.deps.progressEveryMs ?? 5000)) return;
    this.lastReport = now;
    const remaining = estimateRemainingMs(progress, this.doneAtStart, now - this.startedAt);
    this.deps.logger.info(
      {
        epoch: this.state.epoch,
        done: progress.done,
        total: progress.total,
        percent: Math.floor(progress.ratio * 1000) / 10,
        etaMs: remaining,
      },
      `rebuild replay ${(progress.ratio * 100).toFixed(1)}% (${progress.done}/${progress.total})` +
        (remaining === undefined ? '' : `, ETA ${formatDuration(remaining)}`),
    );
  }

  replayComplete(next: ReadonlyMap<number, number>): boolean {
    return this.progressOf(next).complete;
  }

  /** Stopped part-way, the sweep is simply done again at the next start (it is idempotent). */
  async sweep(shouldStop: () => boolean): Promise<void> {
    this.bar?.stop();
    this.bar = undefined;
    const { logger, metrics, index } = this.deps;
    logger.info({ epoch: this.state.epoch }, 'rebuild replay complete; sweeping what the log no longer holds');
    this.shouldStop = shouldStop;
    const stale = await this.sweepStaleEntries();
    const unknown = await this.sweepUnknownFiles();
    if (shouldStop()) {
      logger.info({ epoch: this.state.epoch }, 'sweep interrupted by a stop; it resumes at the next start');
      return;
    }
    index.writeMeta(REBUILD_META, null);
    this.done = true;
    metrics.rebuilding.set(0);
    metrics.rebuildProgress.set(1);
    metrics.sweptEntries.inc(stale + unknown);
    logger.info(
      {
        epoch: this.state.epoch,
        staleEntries: stale,
        unknownFiles: unknown,
        durationMs: Math.round(this.deps.clock.now() - this.startedAt),
      },
      'rebuild complete',
    );
  }

  /** Entries of older epochs, deepest first so a directory's entries go before it. */
  private async sweepStaleEntries(): Promise<number> {
    const { index, fs, logger } = this.deps;
    let removed = 0;
    let before: RelPath | undefined;
    let sliceEnd = this.deps.clock.now() + SLICE_MS;
    for (;;) {
      const batch = index.staleEntries(500, before);
      if (batch.length === 0) return removed;
      for (const [path, entry] of batch) {
        before = path;
        if (entry.kind === 'absent') {
          index.remove(path);
          continue;
        }
        if (entry.kind === 'dir' && index.childCount(path) > 0) {
          // Entries of the log live inside: it stays, as a directory that only holds them.
          index.record(path, { ...entry, explicit: false });
          continue;
        }
        try {
          fs.remove(path);
        } catch (error) {
          if (!(error instanceof UnsafePathError)) throw error;
          logger.warn({ path, err: error }, 'sweep: not following an unsafe path');
        }
        index.remove(path);
        removed++;
      }
      if (this.deps.clock.now() > sliceEnd) {
        await yieldToEventLoop();
        if (this.shouldStop()) return removed;
        sliceEnd = this.deps.clock.now() + SLICE_MS;
      }
    }
  }

  /** Walks the directories the index knows and removes what it does not know. */
  private async sweepUnknownFiles(): Promise<number> {
    const { index, fs, root } = this.deps;
    let removed = 0;
    let sliceEnd = this.deps.clock.now() + SLICE_MS;
    const visit = (dir: RelPath | '') => {
      let names: string[] | undefined;
      try {
        names = root.withDir(dir, false, (dirFd) => fsat.readdir(dirFd).map((entry) => nameFromBytes(entry.name)));
      } catch (error) {
        if (error instanceof UnsafePathError) return;
        throw error;
      }
      if (names === undefined) return;
      const known = new Set(index.presentChildren(dir));
      for (const name of names) {
        if (known.has(name) || isTempNameOf(name, this.deps.liveTokens)) continue;
        if (fs.remove(joinRel(dir, name))) removed++;
      }
    };
    visit('');
    let after: RelPath | undefined;
    for (;;) {
      const dirs = index.directories(500, after);
      if (dirs.length === 0) return removed;
      for (const dir of dirs) {
        visit(dir);
        after = dir;
        if (this.deps.clock.now() > sliceEnd) {
          await yieldToEventLoop();
          if (this.shouldStop()) return removed;
          sliceEnd = this.deps.clock.now() + SLICE_MS;
        }
      }
    }
  }
}
