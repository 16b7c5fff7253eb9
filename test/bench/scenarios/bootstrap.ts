// Stage: bootstrap. With the whole tree in the log, a new replica (a new applier replica
// name, so a new consumer group reading from the earliest offset) is started on an empty
// directory; timed from the applier's process start until the last file is on the replica,
// then compared in full with the source (every path, type, size and content hash).
import { mkdirSync } from 'node:fs';
import { seconds } from '../clock.ts';
import { limits, type BenchContext } from '../context.ts';
import { MetricsPoller } from '../http-probe.ts';
import { formatInt, info, ticker, warn } from '../progress.ts';
import { ReplicaWatcher } from '../replica-watcher.ts';
import { flushWrites } from '../tools.ts';
import { assertConverged, describeMetadata } from '../tree-compare.ts';
import { APPLIED_METRIC, LAG_METRIC } from '../metric-names.ts';

export async function bootstrapReplica(ctx: BenchContext): Promise<void> {
  const { plan } = ctx;
  mkdirSync(ctx.dirs.replica, { recursive: true });
  await flushWrites();
  const watcher = new ReplicaWatcher(ctx.dirs.replica, { sweepMs: 2000 });
  try {
    for (const file of plan) watcher.expect({ path: file.path, size: file.size });
    const replica = ctx.launcher.replicaName('a');
    const service = await ctx.launcher.startApplier({
      target: ctx.dirs.replica,
      replica,
      stateDir: ctx.dirs.applierState,
    });
    ctx.applier = service;
    const p = service.process;
    info(`applier '${replica}' pid ${p.pid}, metrics on 127.0.0.1:${service.port}, log ${p.logPath}`);
    const metrics = new MetricsPoller(service.port, 1000);
    const metric = (name: string): string => {
      const value = metrics.get(name);
      return value === undefined ? '?' : formatInt(value);
    };
    const tick = ticker(
      () =>
        `${formatInt(watcher.arrivedCount)} / ${formatInt(plan.files)} files on the replica; ` +
        `applier: ${metric(APPLIED_METRIC)} events handled, ` +
        `lag ${metric(LAG_METRIC)}, RSS ${p.rss.currentMb.toFixed(0)} MB`,
    );
    let lastAt: number;
    try {
      const l = limits(plan.files);
      lastAt = await watcher.whenAllArrived({
        what: 'bootstrap',
        stallMs: l.stallMs,
        timeoutMs: l.bootstrapMs,
        abort: () => p.exitReason(),
      });
    } finally {
      tick.stop();
      metrics.stop();
    }
    const ms = lastAt - p.spawnedAt;
    info(
      `all ${formatInt(plan.files)} files on the replica ${seconds(ms)} after the applier started ` +
        `(${formatInt(Math.round(plan.files / (ms / 1000)))} files/s)`,
    );
    if (watcher.viaCounts.sweep > 0) {
      const last = watcher.lastVia === 'sweep' ? ', among them the last one' : '';
      warn(
        `${watcher.viaCounts.sweep} arrivals were found by the 2 s sweep, ` +
          `not by a notification${last} (dated by their ctime)`,
      );
    }
    info('comparing the whole replica with the source (every path, size and content hash)…');
    const comparison = await assertConverged('bootstrap', ctx.dirs.source, ctx.dirs.replica, { hash: { kind: 'all' } });
    info(
      `replica identical: ${formatInt(comparison.sourceEntries)} entries, ` +
        `${formatInt(comparison.hashed)} files hashed on both sides (${seconds(comparison.ms, 1)})`,
    );
    const metadata = describeMetadata(comparison);
    if (metadata !== '') {
      warn(`metadata differs (not counted as a convergence failure here): ${metadata}`);
      ctx.notes.push(`after bootstrap: ${metadata}`);
    }
    ctx.results.bootstrapMs = ms;
  } finally {
    watcher.close();
  }
}
