// Stage: single-file latency with the system otherwise idle.
import { STAGE_DIRS, type BenchContext } from '../context.ts';
import { info, ticker, warn } from '../progress.ts';
import { timeSingleWrites } from '../single-writes.ts';
import { summarize, type Summary } from '../stats.ts';
import { planSingles, plannedFile, STREAM } from '../tree-plan.ts';

export function describeSummary(s: Summary): string {
  const f = (v: number): string => v.toFixed(1);
  return (
    `p50 ${f(s.p50)} ms, p95 ${f(s.p95)} ms, p99 ${f(s.p99)} ms ` +
    `(min ${f(s.min)}, mean ${f(s.mean)}, max ${f(s.max)}; ${s.count} writes)`
  );
}

export async function measureLatency(ctx: BenchContext): Promise<void> {
  const { options } = ctx;
  const dir = STAGE_DIRS.latency;
  const files = planSingles({ seed: options.seed, root: dir, count: options.latencyWrites, stream: STREAM.latency });
  const applier = ctx.applier!.process;
  info(
    `${options.latencyWrites} single-file writes into ${dir}/, ` +
      `each ≥ ${options.latencyGapMs} ms after the previous one and after its arrival`,
  );
  let done = 0;
  let last = 0;
  const tick = ticker(() => `${done} / ${options.latencyWrites} writes, last ${last.toFixed(1)} ms`);
  try {
    const result = await timeSingleWrites({
      what: 'latency',
      source: ctx.dirs.source,
      replica: ctx.dirs.replica,
      dir,
      warmup: plannedFile(options.seed, STREAM.latency, 1_000_000, `${dir}/warmup.dat`),
      files,
      gapMs: options.latencyGapMs,
      timeoutMs: 30_000,
      abort: () => applier.exitReason() ?? ctx.producer?.process.exitReason(),
      onSample: (n, ms) => {
        done = n;
        last = ms;
      },
    });
    if (result.viaSweep > 0)
      warn(`${result.viaSweep} arrivals were found by the 1 s sweep, not by a notification (dated by their ctime)`);
    ctx.results.latency = summarize(result.samples);
    info(`latency: ${describeSummary(ctx.results.latency)}`);
  } finally {
    tick.stop();
  }
}
