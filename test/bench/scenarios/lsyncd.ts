// Stage (--with-lsyncd): lsyncd on the same source tree, rsync to a local directory,
// `delay = 1`. Its start-up (a full rsync of the tree into the empty target) is timed for
// reference; then single-file latency and a burst, measured exactly as for mirrorlog.
// Runs after mirrorlog's services have stopped, so they do not compete.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBurst } from '../burst.ts';
import { nowMs, seconds, sleep } from '../clock.ts';
import { limits, STAGE_DIRS, type BenchContext } from '../context.ts';
import { ServiceProcess } from '../process-runner.ts';
import { formatInt, info, ticker, warn } from '../progress.ts';
import type { ReplicaWatcher } from '../replica-watcher.ts';
import { timeSingleWrites } from '../single-writes.ts';
import { summarize } from '../stats.ts';
import { ensureCommand } from '../tools.ts';
import { planBurst, plannedFile, planSingles, STREAM } from '../tree-plan.ts';
import { describeSummary } from './latency.ts';
import { runPullJob } from './pull-job.ts';

const lua = (text: string): string => JSON.stringify(text);

export function lsyncdConfig(o: { source: string; target: string; logFile: string; statusFile: string }): string {
  return `settings {
  logfile = ${lua(o.logFile)},
  statusFile = ${lua(o.statusFile)},
  nodaemon = true,
}
sync {
  default.rsync,
  source = ${lua(o.source)},
  target = ${lua(o.target)},
  delay = 1,
  rsync = { archive = true },
}
`;
}

async function waitForStartup(lsyncd: ServiceProcess, logFile: string, timeoutMs: number): Promise<number> {
  const deadline = nowMs() + timeoutMs;
  for (;;) {
    const reason = lsyncd.exitReason();
    if (reason !== undefined) throw new Error(`lsyncd: ${reason}`);
    let log = '';
    try {
      log = readFileSync(logFile, 'utf8');
    } catch {
      // not written yet
    }
    if (/Startup of .* finished/.test(log)) return nowMs();
    if (nowMs() > deadline)
      throw new Error(
        `lsyncd: its start-up rsync did not finish within ${(timeoutMs / 1000).toFixed(0)} s (log ${logFile})`,
      );
    await sleep(50);
  }
}

export async function measureLsyncd(ctx: BenchContext): Promise<void> {
  await ensureCommand('lsyncd', 'lsyncd');
  const { options, dirs } = ctx;
  mkdirSync(dirs.lsyncd, { recursive: true });
  mkdirSync(dirs.lsyncdTarget, { recursive: true });
  mkdirSync(join(dirs.source, STAGE_DIRS.lsyncdLatency), { recursive: true });
  mkdirSync(join(dirs.source, STAGE_DIRS.lsyncdBurst), { recursive: true });
  const logFile = join(dirs.lsyncd, 'lsyncd.log');
  const configFile = join(dirs.lsyncd, 'lsyncd.conf.lua');
  writeFileSync(
    configFile,
    lsyncdConfig({
      source: dirs.source,
      target: dirs.lsyncdTarget,
      logFile,
      statusFile: join(dirs.lsyncd, 'lsyncd.status'),
    }),
  );
  const lsyncd = new ServiceProcess({
    name: 'lsyncd',
    command: 'lsyncd',
    args: [configFile],
    logPath: join(dirs.logs, 'lsyncd.out'),
  });
  info(`lsyncd pid ${lsyncd.pid}, config ${configFile}; waiting for its start-up rsync of the tree`);
  const lsyncdResults: NonNullable<typeof ctx.results.lsyncd> = {};
  ctx.results.lsyncd = lsyncdResults;
  const abort = (): string | undefined => lsyncd.exitReason();
  try {
    const startedAt = await waitForStartup(lsyncd, logFile, limits(ctx.plan.files).bootstrapMs);
    lsyncdResults.startupMs = startedAt - lsyncd.spawnedAt;
    info(`lsyncd start-up finished after ${seconds(lsyncdResults.startupMs)}`);

    const latencyDir = STAGE_DIRS.lsyncdLatency;
    let done = 0;
    const tickLatency = ticker(() => `lsyncd: ${done} / ${options.lsyncdWrites} writes`);
    try {
      const singles = await timeSingleWrites({
        what: 'lsyncd latency',
        source: dirs.source,
        replica: dirs.lsyncdTarget,
        dir: latencyDir,
        warmup: plannedFile(options.seed, STREAM.lsyncdLatency, 1_000_000, `${latencyDir}/warmup.dat`),
        files: planSingles({
          seed: options.seed,
          root: latencyDir,
          count: options.lsyncdWrites,
          stream: STREAM.lsyncdLatency,
        }),
        gapMs: Math.max(options.latencyGapMs, 1500),
        timeoutMs: 60_000,
        abort,
        onSample: (n) => (done = n),
      });
      lsyncdResults.latency = summarize(singles.samples);
    } finally {
      tickLatency.stop();
    }
    info(`lsyncd latency: ${describeSummary(lsyncdResults.latency)}`);

    const plan = planBurst({
      seed: options.seed,
      root: STAGE_DIRS.lsyncdBurst,
      files: options.burstFiles,
      dirs: options.burstDirs,
      marked: 0,
      stream: STREAM.lsyncdBurst,
    });
    let watcher: ReplicaWatcher | undefined;
    const tickBurst = ticker(
      () =>
        `lsyncd: ${formatInt(watcher?.arrivedCount ?? 0)} / ${formatInt(options.burstFiles)} burst files on its target`,
    );
    try {
      const burst = await runBurst({
        what: 'lsyncd burst',
        source: dirs.source,
        replica: dirs.lsyncdTarget,
        plan,
        sentinel: plannedFile(options.seed, STREAM.lsyncdBurst, 1_000_000, `${STAGE_DIRS.lsyncdBurst}/ready.dat`),
        stallMs: 120_000,
        timeoutMs: 900_000,
        abort,
        onStart: (w) => (watcher = w),
      });
      lsyncdResults.burstMs = burst.ms;
      lsyncdResults.burstFiles = burst.files;
      info(
        `lsyncd burst: ${formatInt(burst.files)} files on its target after ${seconds(burst.ms)} ` +
          `(${formatInt(Math.round(burst.files / (burst.ms / 1000)))} files/s)`,
      );
    } finally {
      tickBurst.stop();
    }
    lsyncdResults.pullJob = await runPullJob(ctx, {
      what: 'lsyncd pull job',
      root: STAGE_DIRS.lsyncdPullJob,
      stream: STREAM.lsyncdPullJob,
      replica: dirs.lsyncdTarget,
      abort,
    });
  } finally {
    const stopped = await lsyncd.stop(10_000);
    if (stopped.killed) warn('lsyncd did not stop on SIGTERM: killed');
    const overflow = (() => {
      try {
        return /overflow/i.test(readFileSync(logFile, 'utf8'));
      } catch {
        return false;
      }
    })();
    if (overflow) warn(`lsyncd's log reports an inotify overflow (it then rescans): ${logFile}`);
  }
}
