// Stage: the producer's first start on the tree. Its initial reconcile publishes every
// file (content to S3, events to the fresh topic); ready means the whole tree is in the log.
import { seconds } from '../clock.ts';
import { limits, type BenchContext } from '../context.ts';
import { fetchMetrics, waitReady } from '../http-probe.ts';
import { PUBLISHED_METRIC } from '../metric-names.ts';
import { formatInt, info, ticker, warn } from '../progress.ts';

export async function startAndPublish(ctx: BenchContext): Promise<void> {
  const service = await ctx.launcher.startProducer({ root: ctx.dirs.source, stateDir: ctx.dirs.producerState });
  ctx.producer = service;
  const p = service.process;
  info(`producer pid ${p.pid}, metrics on 127.0.0.1:${service.port}, log ${p.logPath}`);
  let published: number | undefined;
  const tick = ticker(
    () =>
      `producer publishing the tree: ${published === undefined ? '?' : formatInt(published)} events published, ` +
      `RSS ${p.rss.currentMb.toFixed(0)} MB`,
  );
  const poll = setInterval(() => {
    void fetchMetrics(service.port).then((m) => {
      if (m?.has(PUBLISHED_METRIC)) published = m.get(PUBLISHED_METRIC);
    });
  }, 1000);
  try {
    const readyAt = await waitReady({
      what: 'producer (first start)',
      port: service.port,
      timeoutMs: limits(ctx.plan.files).publishMs,
      abort: () => p.exitReason(),
    });
    ctx.results.initialPublishMs = readyAt - p.spawnedAt;
  } finally {
    clearInterval(poll);
    tick.stop();
  }
  const metrics = await fetchMetrics(service.port);
  const count = metrics?.get(PUBLISHED_METRIC);
  info(
    `producer ready after ${seconds(ctx.results.initialPublishMs)}` +
      (count === undefined
        ? ` (metric ${PUBLISHED_METRIC} not exposed)`
        : `: ${formatInt(count)} events published ` +
          `(${formatInt(Math.round(count / (ctx.results.initialPublishMs / 1000)))}/s)`),
  );
  const expected = ctx.plan.files + ctx.plan.dirs().length;
  if (count !== undefined && count < expected) {
    const note =
      `producer reported ready with ${formatInt(count)} events published, ` +
      `fewer than the tree's ${formatInt(expected)} entries`;
    warn(note);
    ctx.notes.push(note);
  }
}
