// Progress of the first publication of a tree (empty index): entries published against a
// count of the tree, at the rate so far, so an operator seeding a large tree sees how long
// it will take. The count lists directories only (no lstat, no reading), beside the walk
// and the uploads, which wait for each other; until it is done the ETA says "estimating".
// Shown in the metrics, a JSON log line every few seconds and, on a terminal, a bar.
import type { Logger } from '../shared/logger.ts';
import { createProgress, progressFacts, type Progress } from '../shared/progress.ts';
import type { Excluder } from './domain/exclude.ts';
import type { ProducerMetrics } from './metrics.ts';
import type { SourceTree } from './ports/source-tree.ts';
import { countEntries } from './walk-progress.ts';

export type FirstPublicationDeps = {
  tree: SourceTree;
  isExcluded: Excluder;
  metrics: ProducerMetrics;
  logger: Logger;
  now: () => number;
  /** Events published so far (by this process). */
  published: () => Promise<number>;
  /** A bar on a terminal; JSON log lines in any case. */
  bar: boolean;
  logEveryMs?: number;
};

export class FirstPublicationProgress {
  private expected: number | undefined;
  private stopped = false;
  private readonly started: number;
  private lastLog: number;
  private readonly bar: Progress | undefined;
  /** The count of the tree (undefined: stopped first, or it failed). */
  readonly counted: Promise<number | undefined>;

  constructor(private readonly deps: FirstPublicationDeps) {
    this.started = deps.now();
    this.lastLog = this.started;
    this.bar = deps.bar ? createProgress('publishing the tree', { unit: 'entries', now: deps.now }) : undefined;
    deps.metrics.firstPublicationExpected.set(0);
    deps.metrics.firstPublicationEta.set(Number.NaN);
    this.counted = countEntries(deps.tree, deps.isExcluded, () => this.stopped, deps.now).then(
      (entries) => {
        if (entries !== undefined && entries > 0 && !this.stopped) {
          this.expected = entries;
          deps.metrics.firstPublicationExpected.set(entries);
        }
        return entries;
      },
      (error: unknown) => {
        deps.logger.warn({ err: error }, 'counting the new tree failed: its publication has no ETA');
        return undefined;
      },
    );
  }

  /** Reads what was published and shows it (call it every second or so). */
  async tick(): Promise<void> {
    const done = await this.deps.published();
    if (this.stopped) return;
    const at = this.deps.now();
    const facts = progressFacts('first publication', done, this.expected, at - this.started);
    const { metrics, logger } = this.deps;
    metrics.firstPublicationPublished.set(done);
    metrics.firstPublicationEta.set(facts.etaSeconds ?? Number.NaN);
    this.bar?.update(done, this.expected);
    if (at - this.lastLog < (this.deps.logEveryMs ?? 5000)) return;
    this.lastLog = at;
    const { total, percent, ratePerSecond, etaSeconds, eta } = facts;
    logger.info(
      { published: done, expectedEntries: total, percent, entriesPerSecond: ratePerSecond, etaSeconds, eta },
      'first publication progress',
    );
  }

  /** Ticks every `everyMs` until stopped. */
  every(everyMs: number): void {
    const timer = setInterval(() => {
      this.tick().catch((error: unknown) => this.deps.logger.warn({ err: error }, 'first publication progress'));
    }, everyMs);
    timer.unref();
    this.stopTimer = () => clearInterval(timer);
  }

  private stopTimer = (): void => undefined;

  /** The publication is done (ETA 0, a last line), or the producer stops before (the ETA stays). */
  async stop(done: boolean): Promise<void> {
    this.stopTimer();
    if (done) await this.tick();
    this.stopped = true;
    this.bar?.stop();
    if (!done) return;
    this.deps.metrics.firstPublicationEta.set(0);
    this.deps.logger.info({ seconds: Math.round((this.deps.now() - this.started) / 1000) }, 'first publication done');
  }
}

/** Progress for a tree the index knows nothing of (its first publication), ticking every second; else undefined. */
export function trackFirstPublication(
  index: { counts(): Record<'file' | 'dir' | 'symlink', number> },
  deps: Omit<FirstPublicationDeps, 'published'>,
): FirstPublicationProgress | undefined {
  const counts = index.counts();
  if (counts.file + counts.dir + counts.symlink > 0) return undefined;
  const progress = new FirstPublicationProgress({
    ...deps,
    published: async () => (await deps.metrics.eventsPublished.get()).values.reduce((sum, v) => sum + v.value, 0),
  });
  progress.every(1000);
  return progress;
}
