// The safety net: one walk of the tree compared with the index, directory by directory,
// hinting every difference to the pipeline. Runs at start, after a watcher error, after
// dropped hints and periodically. Synchronous lstat/readdir in short slices (a promise
// per file costs 3x more), with progress in logs and metrics. Rate-limited while the
// producer is live; the start-up walk runs at full speed, since the producer is not
// live until it ends (at 1M files the limit alone made a restart take 20 s).
import type { AttributeScope } from '../shared/attributes.ts';
import { joinRel, type RelPath } from '../../schemas/rel-path.ts';
import { sleep, type Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import { compareDirectory, isExactMatch } from './domain/dir-compare.ts';
import { listingDigest } from './domain/listing-digest.ts';
import { RECENT_DIRS } from './domain/recent-dirs.ts';
import type { Excluder } from './domain/exclude.ts';
import { statChildren } from './listing.ts';
import type { ProducerMetrics } from './metrics.ts';
import type { SourceIndex } from './ports/source-index.ts';
import type { Scan, SourceTree } from './ports/source-tree.ts';
import { ScansAhead } from './scans-ahead.ts';
import { WalkProgress } from './walk-progress.ts';

export type ReconcilerDeps = {
  tree: SourceTree;
  index: SourceIndex;
  isExcluded: Excluder;
  hint: (path: string) => void;
  metrics: ProducerMetrics;
  logger: Logger;
  /** Entries per second at most, except at start (the walk competes with the service for CPU and disk). */
  rate: number;
  /** Resolves when the pipeline has room for more hints (memory stays bounded on a new tree). */
  roomForHints: () => Promise<void>;
  clock: Clock;
  /** Called as each walk starts: what was lost before it (dropped hints) is covered by it. */
  onWalkStart?: () => void;
  /** Which attributes travel (--xattrs, --acls): the walk compares them too. */
  attributes?: AttributeScope;
  /** How the walk waits when it is ahead of its rate (tests observe it). */
  sleep?: (ms: number) => Promise<void>;
};

const SLICE_MS = 8;
export const START_TRIGGER = 'start';
export const PERIODIC_TRIGGER = 'periodic';

/** `unchangedDirs`: directories whose listing was the one their indexed children last matched. */
type ReconcileCounts = { dirs: number; entries: number; differences: number; unchangedDirs: number };
export type ReconcileStats = ReconcileCounts & { seconds: number };

export class Reconciler {
  private running: Promise<ReconcileStats> | undefined;
  private readonly failures: ((error: unknown) => void)[] = [];
  private again: string | undefined;
  /** Directories the next walk compares before the rest (see request). */
  private againFirst: string[] = [];
  private stopped = false;

  constructor(private readonly deps: ReconcilerDeps) {}

  /**
   * Starts a walk, or schedules one more after the current walk when one is running.
   * `first`: directories compared before the whole tree (where a loss most likely is).
   */
  run(trigger: string, first: readonly string[] = []): Promise<ReconcileStats> {
    if (this.running !== undefined) {
      this.again = trigger;
      // Newest first, bounded: losses during a long walk must not grow it without end.
      this.againFirst = [...new Set([...first, ...this.againFirst])].slice(0, RECENT_DIRS);
      return this.running;
    }
    // The walk starts on the next microtask: what it hints may ask for another walk, which
    // must find this one running.
    this.running = Promise.resolve()
      .then(() => this.walk(trigger, first))
      .finally(() => {
        this.running = undefined;
        const again = this.again;
        const againFirst = this.againFirst;
        this.again = undefined;
        this.againFirst = [];
        if (again !== undefined && !this.stopped) this.request(again, againFirst);
      });
    return this.running;
  }

  /** Whether a walk is running (or about to run again). */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /**
   * Asks for a walk without waiting for it (watcher error, dropped hints, periodic). A walk
   * that fails is reported to `onFailure` listeners: the service's failure channel.
   */
  request(trigger: string, first: readonly string[] = []): void {
    this.run(trigger, first).catch((error: unknown) => {
      for (const listener of this.failures) listener(error);
    });
  }

  onFailure(listener: (error: unknown) => void): void {
    this.failures.push(listener);
  }

  stop(): void {
    this.stopped = true;
  }

  /**
   * Compares one subtree with the index, unthrottled, hinting what differs: for a
   * directory whose own watcher subscription just became active. What changed inside it
   * before that was reported, if at all, under the directory's old name (a rename) or not
   * at all (mkdir -p), and would otherwise wait for the next periodic walk.
   */
  async checkSubtree(dir: string): Promise<number> {
    const stats = { dirs: 0, entries: 0, differences: 0, unchangedDirs: 0 };
    const pending: string[] = [dir];
    let sliceStart = this.deps.clock.now();
    while (pending.length > 0 && !this.stopped) {
      this.compare(pending.pop()!, pending, stats, 'subtree'); // compared as after a loss
      if (this.deps.clock.now() - sliceStart >= SLICE_MS) sliceStart = await this.nextSlice();
    }
    return stats.differences;
  }

  /** Whether a walk is running (it may still find differences). */
  get walking(): boolean {
    return this.running !== undefined;
  }

  private async walk(trigger: string, first: readonly string[]): Promise<ReconcileStats> {
    const { deps } = this;
    const now = () => deps.clock.now();
    const started = now();
    const stats = { dirs: 0, entries: 0, differences: 0, unchangedDirs: 0 };
    const rate = trigger === START_TRIGGER ? Number.POSITIVE_INFINITY : deps.rate;
    const wait = deps.sleep ?? ((ms: number) => sleep(deps.clock, ms));
    deps.onWalkStart?.();
    deps.metrics.reconcileRunning.set(1);
    deps.logger.info({ trigger }, 'reconcile started');
    let sliceStart = now();
    const indexed = deps.index.countBelow(''); // every entry
    // The ETA's basis is the index: the tree as last walked. A new tree (empty index) has none, but then the
    // walk only hints the root's entries and the first publication tracks itself (first-publication.ts). A bar
    // for a start walk on a terminal only; elsewhere the 'reconcile progress' log lines are the progress.
    const progress = new WalkProgress({
      trigger,
      metrics: deps.metrics,
      logger: deps.logger,
      now,
      bar: trigger === START_TRIGGER && indexed > 0 && process.stderr.isTTY,
    });
    progress.expect(indexed);
    // Each of `first` alone (its subdirectories wait for the whole walk), uncounted: the walk counts it again.
    for (const dir of new Set(first)) {
      if (this.stopped) break;
      this.compare(dir, [], { ...stats }, trigger);
      if (now() - sliceStart >= SLICE_MS) sliceStart = await this.nextSlice();
    }
    const pending: string[] = [''];
    const scans = new ScansAhead(deps.tree, pending);
    try {
      while (pending.length > 0 && !this.stopped) {
        const dir = pending.pop()!;
        const scan = scans.take(dir);
        scans.refill();
        this.compare(dir, pending, stats, trigger, await scan);
        scans.refill();
        progress.update(stats);
        const at = now();
        const ahead = (stats.entries / rate) * 1000 - (at - started);
        if (ahead > 0 || at - sliceStart >= SLICE_MS) {
          // Hold back when faster than the allowed rate; in any case yield to the event loop.
          if (ahead > 0) await wait(Math.min(ahead, 1000));
          sliceStart = await this.nextSlice();
        }
      }
    } finally {
      scans.abandon();
    }
    progress.finish();
    const seconds = (now() - started) / 1000;
    deps.metrics.reconcileRunning.set(0);
    deps.metrics.reconciles.inc({ trigger });
    deps.metrics.lastReconcileSeconds.set(seconds);
    deps.metrics.lastReconcileTime.set(now() / 1000);
    deps.logger.info({ trigger, ...stats, seconds }, 'reconcile finished');
    return { ...stats, seconds };
  }

  /** Yields to the event loop and waits for room for hints; returns when the next slice starts. */
  private async nextSlice(): Promise<number> {
    await new Promise((resolve) => setImmediate(resolve));
    await this.deps.roomForHints();
    return this.deps.clock.now();
  }

  /** One directory: its listing with stats against the index; differences are hinted. */
  private compare(
    dir: string,
    pending: string[],
    stats: ReconcileCounts,
    trigger: string,
    listing: Scan = this.deps.tree.scan(dir),
  ): void {
    const afterLoss = trigger !== START_TRIGGER && trigger !== PERIODIC_TRIGGER;
    const { deps } = this;
    stats.dirs++;
    if (listing.status !== 'ok') {
      // Gone since listed: examining it publishes that. Unreadable: the examination counts and skips it.
      if (dir !== '') {
        deps.hint(dir);
        stats.differences++;
      }
      return;
    }
    const listed = statChildren(deps.tree, dir, listing.entries, deps.isExcluded, deps.attributes);
    stats.entries += listed.length;
    const digest = listingDigest(listed);
    const known = deps.index.childrenDigest(dir);
    // The children matched this very listing and nothing was written there since. After a
    // loss the walk compares anyway: it also treats a moved ctime as a replaced directory.
    if (!afterLoss && known?.equals(digest) === true) {
      for (const child of listed) if (child.kind === 'dir') pending.push(joinRel(dir, child.name));
      stats.unchangedDirs++;
      return;
    }
    const identity = afterLoss ? 'inode-or-ctime' : 'inode';
    const legacy = trigger === START_TRIGGER ? 'defer' : 'compare';
    const comparison = compareDirectory(deps.index.childSummaries(dir), listed, identity, legacy);
    const { changed, subdirs, adopt } = comparison;
    if (isExactMatch(comparison) && known?.equals(digest) !== true) deps.index.setChildrenDigest(dir, digest);
    for (const name of changed) deps.hint(joinRel(dir, name));
    if (adopt.length > 0) {
      // Unchanged files known without a fingerprint (index rebuilt from the topic): record it.
      const writes = [];
      for (const { name, fingerprint } of adopt) {
        const entry = deps.index.get(joinRel(dir, name) as RelPath);
        if (entry !== undefined)
          writes.push({ op: 'put' as const, path: entry.path, state: entry.state, seq: entry.seq, fingerprint });
      }
      deps.index.apply(writes);
    }
    stats.differences += changed.length;
    for (const name of subdirs) pending.push(joinRel(dir, name));
  }
}
