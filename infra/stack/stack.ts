// The stack as a whole: bring servers up (installing on first use), stop exactly the
// processes this stack started. Its status is in stack-status.ts, one server's start in
// server-bring-up.ts, what differs between servers in server-drivers.ts.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { ensureBucket } from './health.ts';
import { withStackLock } from './lock.ts';
import {
  assertIsStackDir,
  prepareStackDir,
  resolveStackOptions,
  SERVER_NAMES,
  serverPaths,
  type ServerName,
  type StackOptions,
  type StackOverrides,
} from './paths.ts';
import { processesWithArg, stopProcess, stopStray, type StopOutcome } from './processes.ts';
import { bringUp, checkTools } from './server-bring-up.ts';
import { DRIVERS, driverFor, s3Settings } from './server-drivers.ts';

export interface StackEndpoints {
  started: boolean;
  kafkaBrokers: string[];
  s3Endpoint: string;
  bucket: string;
}

const LOCK_TIMEOUT_MS = 20 * 60_000;

function endpoints(o: StackOptions, started: boolean): StackEndpoints {
  return {
    started,
    kafkaBrokers: [DRIVERS.kafka.endpoint(o)],
    s3Endpoint: driverFor(o, 's3').endpoint(o),
    bucket: o.bucket,
  };
}

/**
 * Starts whatever is not healthy (installing on first use), waits until Kafka answers
 * a metadata request and S3 a bucket call, and creates the bucket. `started` says
 * whether this call started anything. On failure, servers this call started are stopped.
 */
export async function ensureStackUp(overrides: StackOverrides = {}): Promise<StackEndpoints> {
  const o = resolveStackOptions(overrides);
  return withStackLock(o.stackDir, LOCK_TIMEOUT_MS, o.log, async () => {
    await prepareStackDir(o);
    await checkTools(o, SERVER_NAMES);
    const results = await Promise.allSettled(SERVER_NAMES.map((name) => bringUp(o, name)));
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    const started = results.some((r) => r.status === 'fulfilled' && r.value);
    if (failures.length > 0) {
      for (const [i, r] of results.entries()) {
        if (r.status === 'fulfilled' && r.value)
          await stopProcess(serverPaths(o.stackDir, SERVER_NAMES[i]!).pidFile, driverFor(o, SERVER_NAMES[i]!).graceMs);
      }
      throw failures.length === 1
        ? failures[0]
        : new Error(failures.map((f) => (f instanceof Error ? f.message : String(f))).join('\n\n'));
    }
    await ensureBucket(s3Settings(o));
    return endpoints(o, started);
  });
}

/** Starts one server (installing on first use) and waits until it answers; a no-op if it does. */
export async function startServer(name: ServerName, overrides: StackOverrides = {}): Promise<void> {
  const o = resolveStackOptions(overrides);
  await withStackLock(o.stackDir, LOCK_TIMEOUT_MS, o.log, async () => {
    await prepareStackDir(o);
    await checkTools(o, [name]);
    await bringUp(o, name);
    if (name === 's3') await ensureBucket(s3Settings(o));
  });
}

async function stopOne(o: StackOptions, name: ServerName): Promise<StopOutcome> {
  const driver = driverFor(o, name);
  let outcome = await stopProcess(serverPaths(o.stackDir, name).pidFile, driver.graceMs);
  // A server of this stack whose pid file was lost (deleted, or a crash mid-write).
  for (const stray of await processesWithArg(driver.marker(o))) {
    const strayOutcome = await stopStray(stray.pid, stray.argv, driver.graceMs);
    if (strayOutcome !== 'not-running') {
      o.log(`stopped a ${driver.label} process without a pid file (pid ${stray.pid})`);
      if (outcome === 'not-running') outcome = strayOutcome;
    }
  }
  return outcome;
}

/** Stops one server of this stack (SIGTERM, SIGKILL after a bound). */
export async function stopServer(name: ServerName, overrides: StackOverrides = {}): Promise<StopOutcome> {
  const o = resolveStackOptions(overrides);
  return withStackLock(o.stackDir, LOCK_TIMEOUT_MS, o.log, () => stopOne(o, name));
}

export interface DownResult {
  stopped: Record<ServerName, StopOutcome>;
  purged: boolean;
}

/** Stops both servers; with `purge`, deletes the stack directory (data, logs) too. */
export async function stackDown(overrides: StackOverrides & { purge?: boolean } = {}): Promise<DownResult> {
  const { purge = false, ...rest } = overrides;
  const o = resolveStackOptions(rest);
  if (!existsSync(o.stackDir)) return { stopped: { kafka: 'not-running', s3: 'not-running' }, purged: false };
  return withStackLock(o.stackDir, LOCK_TIMEOUT_MS, o.log, async () => {
    const [kafka, s3] = await Promise.all([stopOne(o, 'kafka'), stopOne(o, 's3')]);
    let purged = false;
    if (purge) {
      await assertIsStackDir(o.stackDir);
      await rm(o.stackDir, { recursive: true, force: true });
      purged = true;
    }
    return { stopped: { kafka, s3 }, purged };
  });
}
