// Progress of a reconcile walk with an ETA: entries scanned against the entries expected
// (the index: the tree as last walked), at the rate so far; "estimating" until there is a
// total and a rate. Shown in the metrics, the progress log lines and, for the start walk on
// a terminal, a bar. And a listing-only count of a tree, the basis of a first publication's ETA.
import { joinRel } from '../../schemas/rel-path.ts';
import type { Logger } from '../shared/logger.ts';
import { createProgress, progressFacts, type Progress } from '../shared/progress.ts';
import type { Excluder } from './domain/exclude.ts';
import type { ProducerMetrics } from './metrics.ts';
import type { SourceTree } from './ports/source-tree.ts';

export type WalkCounts = { dirs: number; entries: number; differences: number };

const PROGRESS_EVERY_MS = 5000;

export class WalkProgress {
  private expected: number | undefined;
  private readonly started: number;
  private lastLog: number;
  private readonly bar: Progress | undefined;

  constructor(
    private readonly deps: {
      trigger: string;
      metrics: ProducerMetrics;
      logger: Logger;
      now: () => number;
      /** The bar, on a terminal (the start walk only: later walks run beside a live service). */
      bar: boolean;
    },
  ) {
    this.started = deps.now();
    this.lastLog = this.started;
    this.bar = deps.bar ? createProgress('walking the tree', { unit: 'entries', now: deps.now }) : undefined;
    deps.metrics.reconcileExpected.set(0);
    deps.metrics.reconcileEta.set(Number.NaN);
  }

  /** The entries this walk should scan, once known (undefined: estimating). */
  expect(entries: number | undefined): void {
    if (entries === undefined || entries <= 0) return;
    this.expected = entries;
    this.deps.metrics.reconcileExpected.set(entries);
  }

  update(counts: WalkCounts): void {
    const { metrics, logger, trigger } = this.deps;
    const at = this.deps.now();
    const facts = progressFacts('reconcile', counts.entries, this.expected, at - this.started);
    metrics.reconcileDirs.set(counts.dirs);
    metrics.reconcileEntries.set(counts.entries);
    metrics.reconcileDifferences.set(counts.differences);
    metrics.reconcileEta.set(facts.etaSeconds ?? Number.NaN);
    this.bar?.update(counts.entries, this.expected);
    if (at - this.lastLog < PROGRESS_EVERY_MS) return;
    this.lastLog = at;
    logger.info(
      {
        trigger,
        ...counts,
        entriesPerSecond: facts.ratePerSecond,
        expectedEntries: facts.total,
        etaSeconds: facts.etaSeconds,
        eta: facts.eta,
      },
      'reconcile progress',
    );
  }

  finish(): void {
    this.bar?.stop();
    this.deps.metrics.reconcileEta.set(0);
  }
}

const SLICE_MS = 8;

/**
 * The entries below the root as a walk would scan them (excluded paths left out), from
 * listings alone, in short slices; undefined when `stopped` says so first.
 */
export async function countEntries(
  tree: SourceTree,
  isExcluded: Excluder,
  stopped: () => boolean,
  now: () => number,
): Promise<number | undefined> {
  const pending = [''];
  let entries = 0;
  let sliceStart = now();
  while (pending.length > 0) {
    if (stopped()) return undefined;
    const dir = pending.pop()!;
    const listing = tree.readdir(dir);
    if (listing.status !== 'ok') continue;
    for (const { name, kind } of listing.entries) {
      const path = joinRel(dir, name);
      if (isExcluded(path, kind === 'dir')) continue;
      entries++;
      if (kind === 'dir') pending.push(path);
    }
    if (now() - sliceStart >= SLICE_MS) {
      await new Promise((resolve) => setImmediate(resolve));
      sliceStart = now();
    }
  }
  return entries;
}
