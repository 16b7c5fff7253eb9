// npm run bench -- [--files N] [--json FILE] [--with-lsyncd] [--work DIR] [--keep]
//
// mirrorlog against rsync (and lsyncd) on the same generated tree, in the same run:
// latency, latency under load, burst, bootstrap, restart and memory. See docs/BENCHMARKS.md.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseBenchArgs, USAGE, UsageError, type BenchOptions } from './args.ts';
import { bringUpStack, deleteKafkaState, deleteObjects, stopStartedServers, type RunningStack } from './bench-stack.ts';
import { nowMs } from './clock.ts';
import { workDirs, type BenchContext } from './context.ts';
import { readProfile, summarizeProfile, type HotFunction } from './cpu-profile.ts';
import { describeMachine } from './machine.ts';
import { formatInt, info, stage, warn } from './progress.ts';
import { buildJson, renderReport } from './report.ts';
import type { StageError } from './results.ts';
import { measureBurst, checkReplica } from './scenarios/burst.ts';
import { bootstrapReplica } from './scenarios/bootstrap.ts';
import { measureLatency } from './scenarios/latency.ts';
import { measureLsyncd } from './scenarios/lsyncd.ts';
import { measurePullJob } from './scenarios/pull-job.ts';
import { startAndPublish } from './scenarios/publish.ts';
import { measureRestart } from './scenarios/restart.ts';
import { generateTree, measureRsyncInitial } from './scenarios/tree.ts';
import { stopService } from './service-memory.ts';
import { buildCli, runNames, ServiceLauncher } from './services.ts';
import { ensureCommand, stopRunningCommands } from './tools.ts';
import { planTree } from './tree-plan.ts';

function makeWorkRoot(options: BenchOptions, runId: string): string {
  if (options.work === undefined) return mkdtempSync(join(tmpdir(), `mirrorlog-${runId}-`));
  const root = join(options.work, runId);
  mkdirSync(root, { recursive: true });
  return root;
}

async function stopServices(ctx: BenchContext): Promise<void> {
  const { producer, applier } = ctx;
  ctx.producer = undefined;
  ctx.applier = undefined;
  if (producer !== undefined) await stopService(ctx, 'producer', producer);
  if (applier !== undefined) await stopService(ctx, 'applier', applier);
}

/** Removes the work directory but what is in `keep` (service logs after a failure, CPU profiles). */
function removeWork(root: string, keep: readonly string[]): void {
  if (keep.length === 0) {
    rmSync(root, { recursive: true, force: true });
    info(`removed ${root}`);
    return;
  }
  for (const name of readdirSync(root)) {
    const path = join(root, name);
    if (!keep.includes(path)) rmSync(path, { recursive: true, force: true });
  }
  info(`removed the trees under ${root}; kept ${keep.join(', ')}`);
}

/** Where each service's main thread spent its CPU, from the profiles it wrote. */
function reportProfiles(dir: string, launched: readonly { label: string; pid: number }[]): void {
  let files: string[];
  try {
    files = readdirSync(dir)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort();
  } catch {
    return;
  }
  const line = (h: HotFunction): string =>
    `    ${(h.share * 100).toFixed(1).padStart(5)}%  ${(h.selfMs / 1000).toFixed(2).padStart(7)} s  ${h.where}\n`;
  for (const file of files) {
    // CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile; thread 0 is the main thread (others: tsx's loader).
    const match = /^CPU\.\d+\.\d+\.(\d+)\.(\d+)\./.exec(file);
    if (match === null || match[2] !== '0') continue;
    const label = launched.find((l) => l.pid === Number(match[1]))?.label ?? `pid ${match[1]}`;
    const { busyMs, hot, components, ownCode } = summarizeProfile(readProfile(join(dir, file)), 12);
    process.stdout.write(
      `\nCPU profile of ${label}, main thread: ${(busyMs / 1000).toFixed(1)} s busy (${join(dir, file)})\n` +
        '  by component:\n',
    );
    for (const h of components.slice(0, 8)) process.stdout.write(line(h));
    process.stdout.write('  by repository function, with the library and native work it calls:\n');
    for (const h of ownCode) process.stdout.write(line(h));
    process.stdout.write('  by function (self time):\n');
    for (const h of hot) process.stdout.write(line(h));
  }
}

async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseBenchArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`bench: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  if (parsed === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const options = parsed;
  const runStarted = nowMs();
  const names = runNames();
  const root = makeWorkRoot(options, names.runId);
  const dirs = workDirs(root);
  const machine = describeMachine(root);
  const timestamp = new Date().toISOString();
  process.stdout.write(
    `mirrorlog benchmark ${names.runId}: ${formatInt(options.files)} files, work directory ${root}\n` +
      `${machine.description}\n`,
  );
  if (machine.file_create_us > 200) {
    warn(
      `creating a file costs ${machine.file_create_us} µs here now (normally well under 100 µs): ` +
        'ext4 slows down creates for minutes after ' +
        'many deletions (its inode allocator skips recently deleted inodes). ' +
        'Absolute times will be high; ratios remain comparable.',
    );
  }

  const errors: StageError[] = [];
  let stack: RunningStack | undefined;
  let ctx: BenchContext | undefined;

  /** CPU seconds of the services running now, by pid (to show what each stage cost them). */
  const cpuNow = (): Map<number, { label: string; cpu: number }> => {
    const out = new Map<number, { label: string; cpu: number }>();
    for (const service of [ctx?.producer, ctx?.applier]) {
      if (service === undefined) continue;
      service.process.rss.sample();
      out.set(service.process.pid, {
        label: service.process.name.replace(/^applier-.*/, 'applier'),
        cpu: service.process.rss.cpuSeconds,
      });
    }
    return out;
  };

  const step = async (name: string, fn: () => Promise<void>): Promise<boolean> => {
    stage(name);
    const started = nowMs();
    const cpuBefore = cpuNow();
    try {
      await fn();
      const elapsed = (nowMs() - started) / 1000;
      const cpu = [...cpuNow()].map(([pid, now]) => {
        const used = now.cpu - (cpuBefore.get(pid)?.cpu ?? 0); // started in this stage: all of it
        return `${now.label} ${used.toFixed(1)} s CPU (${Math.round((used / elapsed) * 100)}% of one core)`;
      });
      info(`(${name}: ${elapsed.toFixed(1)} s${cpu.length > 0 ? `; ${cpu.join(', ')}` : ''})`);
      return true;
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      errors.push({ stage: name, message });
      process.stdout.write(`  FAILED: ${message}\n`);
      return false;
    }
  };

  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      stage('cleanup');
      if (ctx !== undefined) await stopServices(ctx).catch((e: Error) => warn(`stopping services: ${e.message}`));
      if (stack !== undefined && !options.keep) {
        await deleteKafkaState(stack, names.runId);
        await deleteObjects(stack, names.s3Prefix);
      }
      if (options.keep) info(`kept ${root}, topic ${names.topic} and objects under ${names.s3Prefix} (--keep)`);
      else removeWork(root, [...(errors.length > 0 ? [dirs.logs] : []), ...(options.cpuProf ? [dirs.profiles] : [])]);
      if (stack !== undefined) await stopStartedServers(stack);
    })());

  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    process.stdout.write(`\nbench: ${signal}: stopping the services and cleaning up\n`);
    errors.push({ stage: 'run', message: `interrupted by ${signal}` });
    stopRunningCommands();
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    const ready = await step('local stack and tools', async () => {
      process.stdout.write('compiling the services (npm run build): they run as compiled JS, as in production\n');
      buildCli();
      stack = await bringUpStack();
      await ensureCommand('rsync', 'rsync');
    });
    if (ready && stack !== undefined) {
      const plan = planTree({ files: options.files, seed: options.seed });
      const nodeArgs = options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${dirs.profiles}`] : [];
      const launcher = new ServiceLauncher(stack.config, names, dirs.logs, nodeArgs);
      info(`topic ${names.topic}, key prefix ${names.s3Prefix}, source id ${launcher.sourceId}`);
      const c: BenchContext = {
        options,
        names,
        dirs,
        plan,
        launcher,
        results: {},
        producer: undefined,
        applier: undefined,
        notes: [],
      };
      ctx = c;
      if (await step('generate the tree', () => generateTree(c))) {
        await step('baseline: rsync -a into an empty directory', () => measureRsyncInitial(c));
        const published = await step('producer: first start, publishing the tree', () => startAndPublish(c));
        const booted =
          published && (await step('bootstrap: a new replica from the earliest offset', () => bootstrapReplica(c)));
        if (booted) {
          await step('latency: single-file writes', () => measureLatency(c));
          await step('burst, with latency under load', () => measureBurst(c));
          await step('pull job: new dated directories and a directory moved in', () => measurePullJob(c));
        }
        if (published) await step('restart with no changes (and rsync --delete, find)', () => measureRestart(c));
        if (booted && c.producer !== undefined) await step('final check', () => checkReplica(c, 'after the restart'));
        await step('stop the services', () => stopServices(c));
        if (options.withLsyncd) await step('lsyncd (delay = 1)', () => measureLsyncd(c));
      }
    }
  } finally {
    if (!interrupted) {
      const results = ctx?.results ?? {};
      const json = buildJson(results, { files: options.files, cores: machine.cores, machine, timestamp, errors });
      if (options.json !== undefined) {
        mkdirSync(dirname(options.json), { recursive: true });
        writeFileSync(options.json, `${JSON.stringify(json, null, 2)}\n`);
      }
      await cleanup();
      stage(
        `results: ${formatInt(options.files)} files, ${machine.cores} cores, ` +
          `run took ${((nowMs() - runStarted) / 60_000).toFixed(1)} min`,
      );
      process.stdout.write(`${renderReport(json, results)}\n`);
      for (const note of ctx?.notes ?? []) process.stdout.write(`note: ${note}\n`);
      for (const e of errors) process.stdout.write(`FAILED ${e.stage}: ${e.message}\n`);
      if (options.cpuProf) reportProfiles(dirs.profiles, ctx?.launcher.launched ?? []);
      if (options.json !== undefined) process.stdout.write(`JSON written to ${options.json}\n`);
    }
  }
  return errors.length > 0 ? 1 : 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
