// The local Kafka cluster's processes: bring its nodes up (formatting each once with one
// cluster id), report each node's health and the quorum's leader, stop exactly the
// processes it started. Tests also stop, kill and restart single nodes through here.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { busyPorts, waitUntilHealthy, type Probe } from './health.ts';
import { checkKafkaInstallTools, ensureKafkaInstalled } from './install-kafka.ts';
import { runStep, tailFile } from './install.ts';
import { findJava, kafkaLaunchSpec, kafkaLog4j2Properties, newClusterId } from './kafka-server.ts';
import { withStackLock } from './lock.ts';
import {
  bootstrapServers,
  clusterNodeProperties,
  clusterNodes,
  nodeDir,
  resolveClusterOptions,
  scramFormatArgs,
  activeControllerOf,
  type BootstrapServers,
  type ClusterOptions,
  type ClusterOverrides,
  type NodePorts,
} from './cluster-config.ts';
import { assertIsStackDir, STACK_MARKER, type ServerPaths } from './paths.ts';
import { isOurs, launch, readPidFile, stopProcess, type PidRecord, type StopOutcome } from './processes.ts';

const LOCK_TIMEOUT_MS = 20 * 60_000;
const GRACE_MS = 30_000;
/** What `up` was given, kept so that status, down and node restarts act on the same cluster. */
const SETTINGS_FILE = 'cluster.json';

type Settings = Pick<ClusterOptions, 'nodes' | 'basePort' | 'heap' | 'security'> & { clusterId: string };

function nodePaths(o: Pick<ClusterOptions, 'dir'>, nodeId: number): ServerPaths {
  const dir = nodeDir(o, nodeId);
  return {
    dir,
    dataDir: join(dir, 'data'),
    logDir: join(dir, 'logs'),
    configDir: join(dir, 'config'),
    pidFile: join(dir, 'kafka.pid.json'),
    consoleLog: join(dir, 'logs', 'console.log'),
  };
}

async function readSettings(dir: string): Promise<Settings | undefined> {
  try {
    return JSON.parse(await readFile(join(dir, SETTINGS_FILE), 'utf8')) as Settings;
  } catch {
    return undefined;
  }
}

/** Options for an existing cluster directory: what its `up` recorded wins over defaults. */
async function existingOptions(overrides: ClusterOverrides): Promise<ClusterOptions & { clusterId?: string }> {
  const base = resolveClusterOptions(overrides);
  const settings = await readSettings(base.dir);
  if (settings === undefined) return base;
  return {
    ...base,
    nodes: settings.nodes,
    basePort: settings.basePort,
    heap: settings.heap,
    ...(settings.security ? { security: settings.security } : {}),
    clusterId: settings.clusterId,
  };
}

export interface ClusterNodeStatus {
  nodeId: number;
  running: boolean;
  pid?: number;
  /** In the cluster's broker list (it registered with the controller quorum). */
  registered: boolean;
  ports: NodePorts;
  logs: string[];
}

export interface ClusterStatus {
  healthy: boolean;
  dir: string;
  created: boolean;
  bootstrapServers: BootstrapServers;
  /** The KRaft quorum leader (active controller), from the nodes' quorum-state files. */
  activeController?: number;
  detail: string;
  nodes: ClusterNodeStatus[];
}

async function probeBrokers(brokers: string[]): Promise<{ ok: boolean; ids: number[]; detail: string }> {
  const kafka = new Kafka({
    clientId: 'mirrorlog-stack',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1_000,
    requestTimeout: 3_000,
    retry: { retries: 0 },
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    let timer: NodeJS.Timeout | undefined;
    const cluster = await Promise.race([
      admin.connect().then(() => admin.describeCluster()),
      new Promise<never>(
        (_, reject) => (timer = setTimeout(() => reject(new Error('no metadata answer within 5 s')), 5_000)),
      ),
    ]).finally(() => clearTimeout(timer));
    return {
      ok: true,
      ids: cluster.brokers.map((b) => b.nodeId).sort(),
      detail: `${cluster.brokers.length} broker(s), cluster ${cluster.clusterId}`,
    };
  } catch (error) {
    return { ok: false, ids: [], detail: error instanceof Error ? error.message : String(error) };
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

async function quorumLeader(o: ClusterOptions): Promise<number | undefined> {
  const states = await Promise.all(
    clusterNodes(o).map((n) =>
      readFile(join(nodePaths(o, n.nodeId).dataDir, '__cluster_metadata-0', 'quorum-state'), 'utf8').catch(
        () => undefined,
      ),
    ),
  );
  return activeControllerOf(states);
}

async function runningRecord(o: ClusterOptions, nodeId: number): Promise<PidRecord | undefined> {
  const record = await readPidFile(nodePaths(o, nodeId).pidFile);
  return record !== undefined && (await isOurs(record)) ? record : undefined;
}

export async function clusterStatus(overrides: ClusterOverrides = {}): Promise<ClusterStatus> {
  const o = await existingOptions(overrides);
  const created = existsSync(join(o.dir, SETTINGS_FILE));
  const servers = bootstrapServers(o);
  const probe = created
    ? await probeBrokers(servers.plaintext)
    : { ok: false, ids: [], detail: 'not created (mirrorlog stack up --cluster)' };
  const nodes: ClusterNodeStatus[] = [];
  for (const ports of clusterNodes(o)) {
    const record = await runningRecord(o, ports.nodeId);
    const paths = nodePaths(o, ports.nodeId);
    nodes.push({
      nodeId: ports.nodeId,
      running: record !== undefined,
      ...(record === undefined ? {} : { pid: record.pid }),
      registered: probe.ids.includes(ports.nodeId),
      ports,
      logs: [paths.consoleLog, join(paths.logDir, 'server.log')],
    });
  }
  const controller = await quorumLeader(o);
  return {
    healthy: probe.ok && nodes.every((n) => n.running && n.registered),
    dir: o.dir,
    created,
    bootstrapServers: servers,
    ...(controller === undefined ? {} : { activeController: controller }),
    detail: probe.detail,
    nodes,
  };
}

async function formatNode(
  o: ClusterOptions,
  clusterId: string,
  java: string,
  classPath: string,
  nodeId: number,
): Promise<void> {
  const paths = nodePaths(o, nodeId);
  if (existsSync(join(paths.dataDir, 'meta.properties'))) return;
  await runStep(
    java,
    [
      `-Dkafka.logs.dir=${paths.logDir}`,
      `-Dlog4j2.configurationFile=${join(paths.configDir, 'log4j2.properties')}`,
      '-cp',
      classPath,
      'kafka.tools.StorageTool',
      'format',
      '--cluster-id',
      clusterId,
      '--config',
      join(paths.configDir, 'server.properties'),
      ...scramFormatArgs(o.security),
    ],
    { cwd: paths.dir, logFile: join(paths.logDir, 'format.log') },
  );
}

/** Writes node `nodeId`'s config, formats it the first time, and launches it. */
async function startNode(o: ClusterOptions, clusterId: string, nodeId: number): Promise<PidRecord> {
  const java = await findJava();
  const install = await ensureKafkaInstalled(o.cacheDir, o.log);
  const paths = nodePaths(o, nodeId);
  for (const dir of [paths.configDir, paths.logDir, paths.dataDir]) await mkdir(dir, { recursive: true });
  await writeFile(join(paths.configDir, 'server.properties'), clusterNodeProperties(o, nodeId - 1));
  await writeFile(join(paths.configDir, 'log4j2.properties'), kafkaLog4j2Properties(paths.logDir));
  await formatNode(o, clusterId, java, install.classPath, nodeId);
  const ports = clusterNodes(o)[nodeId - 1]!;
  return launch(kafkaLaunchSpec(java, install, paths, o.heap), paths.pidFile, {
    version: install.version,
    nodeId,
    ports,
  });
}

function nodeListenPorts(o: ClusterOptions, n: NodePorts): number[] {
  return o.security === undefined ? [n.client, n.controller] : [n.client, n.controller, n.tls, n.saslTls];
}

async function waitForCluster(o: ClusterOptions, launched: PidRecord[]): Promise<void> {
  const servers = bootstrapServers(o).plaintext;
  const probe = async (): Promise<Probe> => {
    const result = await probeBrokers(servers);
    const all = result.ok && clusterNodes(o).every((n) => result.ids.includes(n.nodeId));
    return { ok: all, detail: result.ok ? `brokers registered: ${result.ids.join(',') || 'none'}` : result.detail };
  };
  const result = await waitUntilHealthy(probe, {
    timeoutMs: o.startTimeoutMs,
    intervalMs: 1_000,
    giveUp: async () => {
      for (const record of launched) if (!(await isOurs(record))) return `a node (pid ${record.pid}) exited`;
      return undefined;
    },
  });
  if (!result.ok) {
    const parts = [`the Kafka cluster did not come up: ${result.reason}`];
    for (const n of clusterNodes(o)) {
      const tail = await tailFile(nodePaths(o, n.nodeId).consoleLog, 15);
      if (tail !== '') parts.push(`--- node ${n.nodeId} console ---\n${tail}`);
    }
    throw new Error(parts.join('\n'));
  }
}

export interface ClusterEndpoints {
  started: boolean;
  bootstrapServers: BootstrapServers;
}

/**
 * Starts every node of the cluster that is not running (installing Kafka on first use,
 * formatting each node once) and waits until all of them are registered brokers. Nodes
 * this call started are stopped again when it fails.
 */
export async function ensureClusterUp(overrides: ClusterOverrides = {}): Promise<ClusterEndpoints> {
  const requested = resolveClusterOptions(overrides);
  return withStackLock(requested.dir, LOCK_TIMEOUT_MS, requested.log, async () => {
    await mkdir(requested.dir, { recursive: true });
    const marker = join(requested.dir, STACK_MARKER);
    if (!existsSync(marker))
      await writeFile(marker, 'mirrorlog local Kafka cluster: data, pid files and logs of its nodes\n');
    const known = await readSettings(requested.dir);
    const settings: Settings = known ?? {
      nodes: requested.nodes,
      basePort: requested.basePort,
      heap: requested.heap,
      ...(requested.security === undefined ? {} : { security: requested.security }),
      clusterId: newClusterId(),
    };
    if (known === undefined)
      await writeFile(join(requested.dir, SETTINGS_FILE), `${JSON.stringify(settings, null, 2)}\n`);
    const o: ClusterOptions = {
      ...requested,
      nodes: settings.nodes,
      basePort: settings.basePort,
      heap: settings.heap,
      ...(settings.security ? { security: settings.security } : {}),
    };
    await findJava();
    await checkKafkaInstallTools(o.cacheDir);
    const toStart: number[] = [];
    for (const n of clusterNodes(o)) if ((await runningRecord(o, n.nodeId)) === undefined) toStart.push(n.nodeId);
    const busy = await busyPorts(toStart.flatMap((id) => nodeListenPorts(o, clusterNodes(o)[id - 1]!)));
    if (busy.length > 0) {
      throw new Error(
        `cannot start the Kafka cluster: port(s) ${busy.join(', ')} on 127.0.0.1 are in use by a program ` +
          'it did not start; choose another base port (MIRRORLOG_CLUSTER_BASE_PORT)',
      );
    }
    const launched: PidRecord[] = [];
    try {
      for (const nodeId of toStart) {
        launched.push(await startNode(o, settings.clusterId, nodeId));
        o.log(`started Kafka cluster node ${nodeId} (pid ${launched.at(-1)!.pid})`);
      }
      await waitForCluster(o, launched);
    } catch (error) {
      for (const nodeId of toStart) await stopProcess(nodePaths(o, nodeId).pidFile, GRACE_MS).catch(() => undefined);
      throw error;
    }
    return { started: toStart.length > 0, bootstrapServers: bootstrapServers(o) };
  });
}

/** Starts one node again (after a test killed it); resolves once the process runs, not when it is in sync. */
export async function startClusterNode(nodeId: number, overrides: ClusterOverrides = {}): Promise<PidRecord> {
  const o = await existingOptions(overrides);
  if (o.clusterId === undefined) throw new Error(`no cluster in ${o.dir}`);
  const running = await runningRecord(o, nodeId);
  return running ?? startNode(o, o.clusterId, nodeId);
}

/** Stops one node (SIGTERM, SIGKILL after a bound). */
export async function stopClusterNode(nodeId: number, overrides: ClusterOverrides = {}): Promise<StopOutcome> {
  const o = await existingOptions(overrides);
  return stopProcess(nodePaths(o, nodeId).pidFile, GRACE_MS);
}

export interface ClusterDownResult {
  stopped: Record<string, StopOutcome>;
  purged: boolean;
}

/** Stops every node; with `purge`, deletes the cluster directory. */
export async function clusterDown(overrides: ClusterOverrides & { purge?: boolean } = {}): Promise<ClusterDownResult> {
  const { purge = false, ...rest } = overrides;
  const o = await existingOptions(rest);
  if (!existsSync(o.dir)) return { stopped: {}, purged: false };
  return withStackLock(o.dir, LOCK_TIMEOUT_MS, o.log, async () => {
    const outcomes = await Promise.all(
      clusterNodes(o).map((n) => stopProcess(nodePaths(o, n.nodeId).pidFile, GRACE_MS)),
    );
    const stopped = Object.fromEntries(clusterNodes(o).map((n, i) => [`node ${n.nodeId}`, outcomes[i]!]));
    if (purge) {
      await assertIsStackDir(o.dir);
      await rm(o.dir, { recursive: true, force: true });
    }
    return { stopped, purged: purge };
  });
}
