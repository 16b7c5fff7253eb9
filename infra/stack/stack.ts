// The stack as a whole: bring servers up (installing on first use), report their
// health, stop exactly the processes this stack started.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  busyPorts,
  ensureBucket,
  probeKafka,
  probeS3,
  probeS3Writable,
  waitUntilHealthy,
  type Probe,
  type S3Settings,
} from './health.ts';
import { CliError } from '../../services/shared/errors.ts';
import { fileSize, tailFile } from './install.ts';
import { checkKafkaInstallTools } from './install-kafka.ts';
import { checkSeaweedInstallTools } from './install-seaweedfs.ts';
import { findJava, startKafka } from './kafka-server.ts';
import { withStackLock } from './lock.ts';
import {
  assertIsStackDir,
  prepareStackDir,
  resolveStackOptions,
  SERVER_NAMES,
  seaweedPorts,
  serverPaths,
  type ServerName,
  type StackOptions,
  type StackOverrides,
} from './paths.ts';
import {
  isOurs,
  processesWithArg,
  readPidFile,
  stopProcess,
  stopStray,
  type PidRecord,
  type StopOutcome,
} from './processes.ts';
import { startS3, weedLogFile } from './s3-server.ts';
import { checkMinioInstallTools } from './install-minio.ts';
import { startMinio } from './minio-server.ts';
import { readFileSync } from 'node:fs';

interface ServerDriver {
  label: string;
  /** Throws a one-line error when a tool needed to install or run the server is missing. */
  checkTools(o: StackOptions): Promise<void>;
  start(o: StackOptions): Promise<PidRecord>;
  probe(o: StackOptions): Promise<Probe>;
  /** What `up` waits for after a start: answering and ready for work. */
  ready(o: StackOptions): Promise<Probe>;
  endpoint(o: StackOptions): string;
  ports(o: StackOptions): number[];
  /** Logs worth quoting when the server fails, most telling first. */
  logs(o: StackOptions): string[];
  /** How long SIGTERM may take before SIGKILL. */
  graceMs: number;
  /** An argument only this stack's process of this server has. */
  marker(o: StackOptions): string;
}

/** MinIO with a certificates directory serves https; the probes trust its CAs/ca.crt. */
const s3Ca = (o: StackOptions): Buffer | undefined =>
  o.s3CertsDir === undefined ? undefined : readFileSync(join(o.s3CertsDir, 'CAs', 'ca.crt'));

const s3Settings = (o: StackOptions): S3Settings => ({
  ...(s3Ca(o) === undefined ? {} : { ca: s3Ca(o) }),
  port: o.s3Port,
  accessKey: o.s3AccessKey,
  secretKey: o.s3SecretKey,
  region: o.region,
  bucket: o.bucket,
});

const DRIVERS: Record<ServerName, ServerDriver> = {
  kafka: {
    label: 'Kafka',
    checkTools: async (o) => {
      await findJava();
      await checkKafkaInstallTools(o.cacheDir);
    },
    start: startKafka,
    probe: (o) => probeKafka([`127.0.0.1:${o.kafkaPort}`]),
    ready: (o) => probeKafka([`127.0.0.1:${o.kafkaPort}`]),
    endpoint: (o) => `127.0.0.1:${o.kafkaPort}`,
    ports: (o) => [o.kafkaPort, o.kafkaControllerPort],
    logs: (o) => [
      serverPaths(o.stackDir, 'kafka').consoleLog,
      join(serverPaths(o.stackDir, 'kafka').logDir, 'server.log'),
    ],
    graceMs: 30_000,
    marker: (o) => join(serverPaths(o.stackDir, 'kafka').configDir, 'server.properties'),
  },
  s3: {
    label: 'S3 (SeaweedFS)',
    checkTools: (o) => checkSeaweedInstallTools(o.cacheDir),
    start: startS3,
    probe: (o) => probeS3(s3Settings(o)),
    ready: (o) => probeS3Writable(s3Settings(o)),
    endpoint: (o) => `http://127.0.0.1:${o.s3Port}`,
    ports: (o) => Object.values(seaweedPorts(o.s3Port)),
    logs: (o) => [serverPaths(o.stackDir, 's3').consoleLog, weedLogFile(serverPaths(o.stackDir, 's3'))],
    graceMs: 15_000,
    marker: (o) => `-dir=${serverPaths(o.stackDir, 's3').dataDir}`,
  },
};

/** The S3 slot of the stack served by MinIO instead of SeaweedFS. */
const MINIO_DRIVER: ServerDriver = {
  label: 'S3 (MinIO)',
  checkTools: (o) => checkMinioInstallTools(o.cacheDir),
  start: startMinio,
  probe: (o) => probeS3(s3Settings(o)),
  ready: (o) => probeS3Writable(s3Settings(o)),
  endpoint: (o) => `${o.s3CertsDir === undefined ? 'http' : 'https'}://127.0.0.1:${o.s3Port}`,
  ports: (o) => [o.s3Port, o.s3Port + 1],
  logs: (o) => [serverPaths(o.stackDir, 's3').consoleLog],
  graceMs: 15_000,
  marker: (o) => serverPaths(o.stackDir, 's3').dataDir,
};

function driverFor(o: StackOptions, name: ServerName): ServerDriver {
  return name === 's3' && o.s3Server === 'minio' ? MINIO_DRIVER : DRIVERS[name];
}

export interface ServerStatus {
  name: ServerName;
  label: string;
  healthy: boolean;
  /** A process this stack started is alive. */
  running: boolean;
  pid?: number;
  version?: string;
  startedAt?: string;
  endpoint: string;
  detail: string;
  logs: string[];
}

export interface StackStatus {
  healthy: boolean;
  stackDir: string;
  cacheDir: string;
  servers: Record<ServerName, ServerStatus>;
}

export interface StackEndpoints {
  started: boolean;
  kafkaBrokers: string[];
  s3Endpoint: string;
  bucket: string;
}

const LOCK_TIMEOUT_MS = 20 * 60_000;

/** The ports a running server was started with win over the options (`up --kafka-port` then plain `status`). */
function withRecordedPorts(o: StackOptions, name: ServerName, record: PidRecord | undefined): StackOptions {
  const ports = record?.info.ports as Partial<StackOptions> | undefined;
  if (ports === undefined) return o;
  return name === 'kafka'
    ? {
        ...o,
        kafkaPort: ports.kafkaPort ?? o.kafkaPort,
        kafkaControllerPort: ports.kafkaControllerPort ?? o.kafkaControllerPort,
      }
    : { ...o, s3Port: ports.s3Port ?? o.s3Port };
}

async function serverStatus(base: StackOptions, name: ServerName): Promise<ServerStatus> {
  const driver = driverFor(base, name);
  const found = await readPidFile(serverPaths(base.stackDir, name).pidFile);
  const record = found !== undefined && (await isOurs(found)) ? found : undefined;
  const o = withRecordedPorts(base, name, record);
  const probe = await driver.probe(o);
  return {
    name,
    label: driver.label,
    healthy: probe.ok,
    running: record !== undefined,
    ...(record === undefined
      ? {}
      : {
          pid: record.pid,
          startedAt: record.startedAt,
          version: String((record.info.version as string | undefined) ?? ''),
        }),
    endpoint: driver.endpoint(o),
    detail: record === undefined && probe.ok ? `${probe.detail} (not started by this stack)` : probe.detail,
    logs: driver.logs(o),
  };
}

export async function stackStatus(overrides: StackOverrides = {}): Promise<StackStatus> {
  const o = resolveStackOptions(overrides);
  const [kafka, s3] = await Promise.all([serverStatus(o, 'kafka'), serverStatus(o, 's3')]);
  return { healthy: kafka.healthy && s3.healthy, stackDir: o.stackDir, cacheDir: o.cacheDir, servers: { kafka, s3 } };
}

/** Where each log of a server ends now, so a failure report quotes only this start's lines. */
async function logOffsets(o: StackOptions, name: ServerName): Promise<Map<string, number>> {
  const logs = driverFor(o, name).logs(o);
  return new Map(await Promise.all(logs.map(async (log) => [log, await fileSize(log)] as const)));
}

async function failureReport(
  o: StackOptions,
  name: ServerName,
  reason: string,
  offsets: Map<string, number>,
): Promise<string> {
  const parts = [`${driverFor(o, name).label} did not come up: ${reason}`];
  for (const log of driverFor(o, name).logs(o)) {
    const tail = await tailFile(log, 25, offsets.get(log) ?? 0);
    if (tail !== '') parts.push(`--- last lines of ${log} ---\n${tail}`);
  }
  return parts.join('\n');
}

/**
 * Makes one server healthy: waits for a process of ours that is still starting, else
 * checks its ports are free, installs if needed, starts it and waits. Returns whether it
 * started a process.
 */
async function bringUp(o: StackOptions, name: ServerName): Promise<boolean> {
  const driver = driverFor(o, name);
  const current = await serverStatus(o, name);
  if (current.running && current.endpoint !== driver.endpoint(o)) {
    throw new Error(
      `${driver.label} of this stack already runs at ${current.endpoint}, not ${driver.endpoint(o)}: ` +
        "run 'mirrorlog stack down' first to move it",
    );
  }
  if (current.healthy) return false;
  let started = false;
  const offsets = await logOffsets(o, name);
  let record = current.running ? await readPidFile(serverPaths(o.stackDir, name).pidFile) : undefined;
  if (record === undefined) {
    const busy = await busyPorts(driver.ports(o));
    if (busy.length > 0) {
      throw new Error(
        `cannot start ${driver.label}: port(s) ${busy.join(', ')} on 127.0.0.1 are in use by a program ` +
          'this stack did not start; stop it or choose other ports ' +
          '(--kafka-port/--s3-port or MIRRORLOG_STACK_KAFKA_PORT/MIRRORLOG_STACK_S3_PORT)',
      );
    }
    record = await driver.start(o);
    started = true;
    o.log(`started ${driver.label} (pid ${record.pid}); waiting for it to answer`);
  } else {
    o.log(`${driver.label} (pid ${record.pid}) is running but not answering yet; waiting`);
  }
  const launched = record;
  const result = await waitUntilHealthy(() => driver.ready(o), {
    timeoutMs: o.startTimeoutMs,
    giveUp: async () => ((await isOurs(launched)) ? undefined : `the process (pid ${launched.pid}) exited`),
  });
  if (!result.ok) {
    const report = await failureReport(o, name, result.reason, offsets);
    if (started) await stopProcess(serverPaths(o.stackDir, name).pidFile, driver.graceMs);
    throw new Error(report);
  }
  return started;
}

/** Before anything starts or builds: every missing tool of the servers that are not running, in one go. */
async function checkTools(o: StackOptions, names: readonly ServerName[]): Promise<void> {
  const problems: string[] = [];
  for (const name of names) {
    const status = await serverStatus(o, name);
    if (status.healthy || status.running) continue;
    await driverFor(o, name)
      .checkTools(o)
      .catch((error: unknown) => problems.push(error instanceof Error ? error.message : String(error)));
  }
  if (problems.length > 0) throw new CliError(problems.join('\n'), 1);
}

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
