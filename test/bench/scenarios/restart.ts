// Stage: restart with no changes. The producer is stopped once everything it published is
// on the replica, and started again on the same state directory; timed from its process
// start until /readyz answers 200 (watching, and its start-up reconcile finished). Then
// once more, with nothing changed since the first restart. In the
// same run: rsync -a --delete between two identical copies of the same tree (the copy made
// at the start, first brought up to date by an untimed pass), and a bare find walk.
import { findWalk, rsyncNoChange } from '../baselines.ts';
import { seconds } from '../clock.ts';
import { limits, type BenchContext } from '../context.ts';
import { fetchMetrics, waitReady } from '../http-probe.ts';
import { formatInt, info, warn } from '../progress.ts';
import { stopService } from '../service-memory.ts';
import { flushWrites } from '../tools.ts';
import { PUBLISHED_METRIC } from '../metric-names.ts';

export async function measureRestart(ctx: BenchContext): Promise<void> {
  if (ctx.producer !== undefined) {
    const producer = ctx.producer;
    ctx.producer = undefined;
    await stopService(ctx, 'producer', producer);
  }

  info('bringing the rsync copy up to date with the source (untimed)');
  await rsyncNoChange(ctx.dirs.source, ctx.dirs.rsyncCopy);
  await flushWrites();
  const rsyncMs = await rsyncNoChange(ctx.dirs.source, ctx.dirs.rsyncCopy);
  ctx.results.rsyncNoChangeMs = rsyncMs;
  info(`rsync -a --delete between identical copies: ${seconds(rsyncMs)}`);

  const walk = await findWalk(ctx.dirs.source);
  ctx.results.findWalkMs = walk.ms;
  info(`find -type f: ${seconds(walk.ms)} (${formatInt(walk.files)} files)`);

  ctx.results.reconcileMs = await restartProducer(ctx, 'producer-restart', walk.files);
  // The first restart's walk compares every directory with the index and records, per
  // directory, the digest of the listing it matched. A producer that has walked its tree
  // since its last changes (every hour while live) restarts as the second one does.
  await stopService(ctx, 'producer', ctx.producer!);
  ctx.producer = undefined;
  ctx.results.reconcileAgainMs = await restartProducer(ctx, 'producer-restart-2', walk.files);
}

/** Starts the producer on its state directory; ms from its process start to /readyz, having published nothing. */
async function restartProducer(ctx: BenchContext, label: string, files: number): Promise<number> {
  const service = await ctx.launcher.startProducer({ root: ctx.dirs.source, stateDir: ctx.dirs.producerState, label });
  ctx.producer = service;
  const p = service.process;
  info(`producer restarted: pid ${p.pid}, log ${p.logPath}`);
  const readyAt = await waitReady({
    what: 'producer restart',
    port: service.port,
    timeoutMs: limits(files).restartMs,
    abort: () => p.exitReason(),
  });
  const ms = readyAt - p.spawnedAt;
  info(`producer ready ${seconds(ms)} after its process started`);

  const metrics = await fetchMetrics(service.port);
  const published = metrics?.get(PUBLISHED_METRIC);
  if (published === undefined)
    warn(`cannot check that the restart published nothing: metric ${PUBLISHED_METRIC} not exposed`);
  else if (published > 0) {
    const note = `the producer published ${formatInt(published)} events on a restart with no changes (expected 0)`;
    warn(note);
    ctx.notes.push(note);
  } else info('the restart published no events, as it should');
  return ms;
}
