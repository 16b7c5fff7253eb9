// Stage: a pull job, as the seed's site gets them all day. New dated directories
// (`mkdir -p`) of mixed pages and images written as fast as one thread can, and a directory
// moved in from outside the tree in the middle; files/s from the first write until the
// last file is on the replica with identical bytes. lsyncd runs the same stage
// (lsyncd.ts) on its own copy of the plan.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULT_INLINE_MAX_BYTES } from '../../../schemas/event.ts';
import { runBurst } from '../burst.ts';
import { seconds } from '../clock.ts';
import { STAGE_DIRS, type BenchContext } from '../context.ts';
import { formatInt, info, ticker } from '../progress.ts';
import { planPullJob } from '../pull-job-plan.ts';
import type { ReplicaWatcher } from '../replica-watcher.ts';
import type { PullJobResult } from '../results.ts';
import { plannedFile, STREAM } from '../tree-plan.ts';
import { checkReplica } from './burst.ts';

/** Runs the stage into `replica` (mirrorlog's or lsyncd's target). */
export async function runPullJob(
  ctx: BenchContext,
  o: { what: string; root: string; stream: number; replica: string; abort: () => string | undefined },
): Promise<PullJobResult> {
  const { options } = ctx;
  const plan = planPullJob({
    seed: options.seed,
    root: o.root,
    jobs: options.pullJobs,
    filesPerJob: options.pullFiles,
    movedInFiles: Math.ceil(options.pullFiles / 5),
    stream: o.stream,
  });
  const bytes = plan.files.reduce((sum, file) => sum + file.size, 0);
  const viaStore = plan.files.filter((file) => file.size > DEFAULT_INLINE_MAX_BYTES).length;
  info(
    `${o.what}: ${options.pullJobs} jobs of ${formatInt(options.pullFiles)} files in new dated directories ` +
      `under ${o.root}/, ${formatInt(plan.files.length - options.pullJobs * options.pullFiles)} more moved in; ` +
      `${(bytes / 1e6).toFixed(0)} MB, ${formatInt(viaStore)} files over the inline limit (through the store)`,
  );
  let watcher: ReplicaWatcher | undefined;
  const tick = ticker(
    () => `${o.what}: ${formatInt(watcher?.arrivedCount ?? 0)} / ${formatInt(plan.files.length)} files on the replica`,
  );
  const stagingDir = join(ctx.dirs.staging, o.root);
  try {
    const result = await runBurst({
      what: o.what,
      source: ctx.dirs.source,
      replica: o.replica,
      plan,
      sentinel: plannedFile(options.seed, o.stream, 1_000_000, `${o.root}/ready.dat`),
      stallMs: 120_000,
      timeoutMs: 900_000,
      abort: o.abort,
      onStart: (w) => (watcher = w),
      moveIn: { stagingDir, target: plan.movedIn.target, afterFiles: plan.movedIn.afterFiles },
    });
    info(
      `${o.what}: ${formatInt(result.files)} files on the replica ${seconds(result.ms)} after the first write ` +
        `(${formatInt(Math.round(result.files / (result.ms / 1000)))} files/s; ` +
        `the writer took ${seconds(result.writeMs)})`,
    );
    return { files: result.files, bytes, viaStore, ms: result.ms, writeMs: result.writeMs };
  } finally {
    tick.stop();
    rmSync(stagingDir, { recursive: true, force: true });
  }
}

export async function measurePullJob(ctx: BenchContext): Promise<void> {
  ctx.results.pullJob = await runPullJob(ctx, {
    what: 'pull job',
    root: STAGE_DIRS.pullJob,
    stream: STREAM.pullJob,
    replica: ctx.dirs.replica,
    abort: () => ctx.applier?.process.exitReason() ?? ctx.producer?.process.exitReason(),
  });
  await checkReplica(ctx, 'after the pull job');
}
