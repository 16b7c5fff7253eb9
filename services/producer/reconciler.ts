// The safety net: one walk of the tree compared with the index, directory by directory,
// hinting every difference to the pipeline. Runs at start, after a watcher error, after
// dropped hints and periodically. Synchronous lstat/readdir in short slices (a promise
// per file costs 3x more), with progress in logs and metrics. Rate-limited while the
// producer is live; the start-up walk runs at full speed, since the producer is not
// live until it ends (at 1M files the limit alone made a restart take 20 s).
import path from 'node:path';
import { joinRel, type RelPath } from '../../schemas/rel-path.ts';
import type { Logger } from '../shared/logger.ts';
import type { SqliteSourceIndex } from './adapters/sqlite-source-index.ts';
import { listDir, probe, readLinkTarget } from './adapters/source-fs.ts';
import { compareDirectory, type ListedChild } from './domain/dir-compare.ts';
import type { Excluder } from './domain/exclude.ts';
import type { ProducerMetrics } from './metrics.ts';

export type ReconcilerDeps = {
  root: string;
  index: SqliteSourceIndex;
  isExcluded: Excluder;
  hint: (path: string) => void;
  metrics: ProducerMetrics;
  logger: Logger;
  /** Entries per second at most, except at start (the walk competes with the service for CPU and disk). */
  rate: number;
  /** Resolves when the pipeline has room for more hints (memory stays bounded on a new tree). */
  roomForHints: () => Promise<void>;
  /** Called for each directory before it is listed: the watcher watches it first (one walk, not two). */
  beforeListing?: (dir: string) => void;
  /** Lists a directory with each child's lstat in one call (the native scan); listDir + probe otherwise. */
  scanDirectory?: (abs: string) => ListedChild[] | undefined;
  /** How the walk waits when it is ahead of its rate (tests observe it). */
  sleep?: (ms: number) => Promise<void>;
};

export type ReconcileStats = { dirs: number; entries: number; differences: number; seconds: number };

const SLICE_MS = 8;
export const START_TRIGGER = 'start';
const PROGRESS_EVERY_MS = 5000;

export class Reconciler {
  private running: Promise<ReconcileStats> | undefined;
  private again: string | undefined;
  private stopped = false;

  constructor(private readonly deps: ReconcilerDeps) {}

  /** Starts a walk, or schedules one more after the current walk when one is running. */
  run(trigger: string): Promise<ReconcileStats> {
    if (this.running !== undefined) {
      this.again = trigger;
      return this.running;
    }
    this.running = this.walk(trigger).finally(() => {
      this.running = undefined;
      const again = this.again;
      this.again = undefined;
      if (again !== undefined && !this.stopped) void this.run(again);
    });
    return this.running;
  }

  stop(): void {
    this.stopped = true;
  }

  private async walk(trigger: string): Promise<ReconcileStats> {
    const { deps } = this;
    const started = Date.now();
    const stats = { dirs: 0, entries: 0, differences: 0 };
    const rate = trigger === START_TRIGGER ? Number.POSITIVE_INFINITY : deps.rate;
    const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
    deps.metrics.reconcileRunning.set(1);
    deps.logger.info({ trigger }, 'reconcile started');
    let sliceStart = Date.now();
    let lastProgress = sliceStart;
    const pending: string[] = [''];
    while (pending.length > 0 && !this.stopped) {
      const dir = pending.pop()!;
      this.compare(dir, pending, stats);
      const now = Date.now();
      const ahead = (stats.entries / rate) * 1000 - (now - started);
      if (ahead > 0 || now - sliceStart >= SLICE_MS) {
        // Hold back when faster than the allowed rate; in any case yield to the event loop.
        await (ahead > 0 ? sleep(Math.min(ahead, 1000)) : new Promise((resolve) => setImmediate(resolve)));
        await deps.roomForHints();
        sliceStart = Date.now();
      }
      if (now - lastProgress >= PROGRESS_EVERY_MS) {
        lastProgress = now;
        deps.logger.info({ trigger, ...stats, entriesPerSecond: Math.round(stats.entries / ((now - started) / 1000)) }, 'reconcile progress');
      }
      deps.metrics.reconcileDirs.set(stats.dirs);
      deps.metrics.reconcileEntries.set(stats.entries);
      deps.metrics.reconcileDifferences.set(stats.differences);
    }
    const seconds = (Date.now() - started) / 1000;
    deps.metrics.reconcileRunning.set(0);
    deps.metrics.reconciles.inc({ trigger });
    deps.metrics.lastReconcileSeconds.set(seconds);
    deps.logger.info({ trigger, ...stats, seconds }, 'reconcile finished');
    return { ...stats, seconds };
  }

  private compare(dir: string, pending: string[], stats: { dirs: number; entries: number; differences: number }): void {
    const { deps } = this;
    const abs = dir === '' ? deps.root : path.join(deps.root, dir);
    deps.beforeListing?.(dir);
    const listed = deps.scanDirectory !== undefined ? deps.scanDirectory(abs) : this.listWithStats(abs);
    stats.dirs++;
    if (listed === undefined) {
      if (dir !== '') {
        deps.hint(dir);
        stats.differences++;
      }
      return;
    }
    for (let i = listed.length - 1; i >= 0; i--) if (deps.isExcluded(joinRel(dir, listed[i]!.name))) listed.splice(i, 1);
    stats.entries += listed.length;
    const indexed = deps.index.childSummaries(dir);
    const { changed, subdirs, adopt } = compareDirectory(indexed, listed);
    for (const name of changed) deps.hint(joinRel(dir, name));
    if (adopt.length > 0) {
      deps.index.transaction(() => {
        for (const { name, fingerprint } of adopt) {
          const entry = deps.index.get(joinRel(dir, name) as RelPath);
          if (entry !== undefined) deps.index.put(entry.path, entry.state, entry.seq, fingerprint);
        }
      });
    }
    stats.differences += changed.length;
    for (const name of subdirs) pending.push(joinRel(dir, name));
  }

  /** A directory's children with what lstat says of each (undefined: not a directory any more). */
  private listWithStats(abs: string): ListedChild[] | undefined {
    const listing = listDir(abs);
    if (listing === undefined) return undefined;
    const listed: ListedChild[] = [];
    for (const { name, kind } of listing.entries) {
      if (kind === 'file' || kind === 'dir') {
        const found = probe(path.join(abs, name));
        if (found.kind === 'file') listed.push({ name, kind: 'file', mode: found.mode, fingerprint: found.fingerprint });
        else if (found.kind === 'dir') listed.push({ name, kind: 'dir', mode: found.mode });
        else if (found.kind !== 'missing') listed.push({ name, kind: found.kind });
      } else if (kind === 'symlink') {
        listed.push({ name, kind, target: readLinkTarget(path.join(abs, name)) ?? '' });
      } else {
        listed.push({ name, kind });
      }
    }
    return listed;
  }
}
