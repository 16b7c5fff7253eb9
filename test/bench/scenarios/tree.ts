// Stage: the generated tree, and rsync's copy of it into an empty directory (the
// bootstrap baseline; the copy is kept for the no-change pass later).
import { rsyncInitial } from '../baselines.ts';
import { nowMs, seconds } from '../clock.ts';
import type { BenchContext } from '../context.ts';
import { formatInt, info, ticker } from '../progress.ts';
import { flushWrites } from '../tools.ts';
import { writeTree } from '../tree-writer.ts';

export async function generateTree(ctx: BenchContext): Promise<void> {
  const { plan } = ctx;
  info(
    `${formatInt(plan.files)} files of 200 B–8 KiB, 100 per directory, ` +
      `${formatInt(plan.leafDirs)} leaf directories 3 levels deep (fan-out ${plan.fanout}), seed ${plan.seed}`,
  );
  const started = nowMs();
  let written = 0;
  const tick = ticker(() => `${formatInt(written)} / ${formatInt(plan.files)} files written`);
  try {
    await writeTree(ctx.dirs.source, plan, (n) => (written = n));
  } finally {
    tick.stop();
  }
  info(`tree written to ${ctx.dirs.source} in ${seconds(nowMs() - started, 1)}`);
  info(`sync (dirty pages written back before anything is timed): ${seconds(await flushWrites())}`);
}

export async function measureRsyncInitial(ctx: BenchContext): Promise<void> {
  const ms = await rsyncInitial(ctx.dirs.source, ctx.dirs.rsyncCopy);
  const syncMs = await flushWrites();
  ctx.results.rsyncInitialMs = ms;
  info(`rsync -a into an empty directory: ${seconds(ms)} (then sync: ${seconds(syncMs)}, not counted)`);
}
