// Stage: the burst (files/s until all are on the replica) and, inside it, latency under load.
import { runBurst } from '../burst.ts';
import { nowMs, seconds } from '../clock.ts';
import { STAGE_DIRS, type BenchContext } from '../context.ts';
import { MetricsPoller } from '../http-probe.ts';
import { formatInt, info, ticker, warn } from '../progress.ts';
import type { ReplicaWatcher } from '../replica-watcher.ts';
import { summarize } from '../stats.ts';
import { planBurst, plannedFile, STREAM } from '../tree-plan.ts';
import { assertConverged, describeMetadata } from '../tree-compare.ts';
import { describeSummary } from './latency.ts';
import { APPLIED_METRIC, PUBLISHED_METRIC } from '../metric-names.ts';

export async function measureBurst(ctx: BenchContext): Promise<void> {
  const { options } = ctx;
  const root = STAGE_DIRS.burst;
  const plan = planBurst({
    seed: options.seed,
    root,
    files: options.burstFiles,
    dirs: options.burstDirs,
    marked: options.loadMarked,
  });
  info(
    `${formatInt(options.burstFiles)} new files in ${options.burstDirs} new directories under ${root}/, ` +
      `${options.loadMarked} of them timed one by one`,
  );
  let watcher: ReplicaWatcher | undefined;
  // Where the burst is, twice a second: events published by the producer and handled by the
  // applier since it started; the largest gap between the two says which side set the pace.
  let startedAt = 0;
  let publishedBase: number | undefined;
  let appliedBase: number | undefined;
  let maxBacklog = 0;
  const producer = new MetricsPoller(ctx.producer!.port, 500, (m) => {
    if (startedAt !== 0) publishedBase ??= m.get(PUBLISHED_METRIC);
  });
  const applier = new MetricsPoller(ctx.applier!.port, 500, (m) => {
    if (startedAt === 0) return;
    appliedBase ??= m.get(APPLIED_METRIC);
    const published = producer.get(PUBLISHED_METRIC);
    const applied = m.get(APPLIED_METRIC);
    if (published !== undefined && applied !== undefined && publishedBase !== undefined && appliedBase !== undefined) {
      maxBacklog = Math.max(maxBacklog, published - publishedBase - (applied - appliedBase));
    }
  });
  const delta = (poller: MetricsPoller, name: string, base: number | undefined): string => {
    const value = poller.get(name);
    return value === undefined || base === undefined ? '?' : formatInt(value - base);
  };
  const tick = ticker(
    () =>
      `${formatInt(watcher?.arrivedCount ?? 0)} / ${formatInt(options.burstFiles)} burst files on the replica; ` +
      `events published ${delta(producer, PUBLISHED_METRIC, publishedBase)}, ` +
      `handled by the applier ${delta(applier, APPLIED_METRIC, appliedBase)}`,
  );
  try {
    const result = await runBurst({
      what: 'burst',
      source: ctx.dirs.source,
      replica: ctx.dirs.replica,
      plan,
      sentinel: plannedFile(options.seed, STREAM.burst, 1_000_000, `${root}/ready.dat`),
      stallMs: 60_000,
      timeoutMs: 600_000,
      abort: () => ctx.applier?.process.exitReason() ?? ctx.producer?.process.exitReason(),
      onStart: (w) => {
        watcher = w;
        startedAt = nowMs();
        void producer.poll();
        void applier.poll();
      },
    });
    tick.stop();
    ctx.results.burst = { files: result.files, ms: result.ms, writeMs: result.writeMs };
    info(
      `burst: ${formatInt(result.files)} files on the replica ${seconds(result.ms)} after the first write ` +
        `(${formatInt(Math.round(result.files / (result.ms / 1000)))} files/s; ` +
        `the writer took ${seconds(result.writeMs)})`,
    );
    if (result.viaSweep > 0)
      warn(
        `${result.viaSweep} burst arrivals were found by the 250 ms sweep, ` +
          'not by a notification (dated by their ctime)',
      );
    if (publishedBase !== undefined && appliedBase !== undefined) {
      const events = options.burstFiles + options.burstDirs;
      const pace =
        maxBacklog <= events * 0.05
          ? 'the applier kept up: the producer set the pace'
          : 'the applier fell behind the producer';
      info(
        `during the burst the applier was at most ${formatInt(maxBacklog)} events behind the producer ` +
          `(sampled every 0.5 s): ${pace}`,
      );
    }
    if (result.markedLatencies.length > 0) {
      ctx.results.loadLatency = summarize(result.markedLatencies);
      info(`latency under load: ${describeSummary(ctx.results.loadLatency)}`);
    }
  } finally {
    tick.stop();
    producer.stop();
    applier.stop();
  }
  await checkReplica(ctx, 'after the burst');
}

/** The replica against the source: every path, type and size; content of a sample of files. */
export async function checkReplica(ctx: BenchContext, when: string): Promise<void> {
  const sample = Math.min(2000, Math.max(200, Math.ceil(ctx.plan.files / 100)));
  const comparison = await assertConverged(`replica ${when}`, ctx.dirs.source, ctx.dirs.replica, {
    hash: { kind: 'sample', count: sample, seed: ctx.options.seed },
  });
  info(
    `replica ${when}: identical paths, types and sizes (${formatInt(comparison.sourceEntries)} entries), ` +
      `${formatInt(comparison.hashed)} sampled files identical (${seconds(comparison.ms, 1)})`,
  );
  const metadata = describeMetadata(comparison);
  if (metadata !== '') warn(`metadata differs: ${metadata}`);
}
