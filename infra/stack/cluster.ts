// The local Kafka cluster's lifecycle: bring its nodes up (formatting each once with one
// cluster id), stop exactly the processes it started. Tests also stop, kill and restart
// single nodes through here. Its status is in cluster-status.ts.
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { busyPorts, waitUntilHealthy, type Probe } from './health.ts';
import { checkKafkaInstallTools } from './install-kafka.ts';
import { tailFile } from './install.ts';
import { findJava } from './kafka-server.ts';
import { withStackLock } from './lock.ts';
import {
  bootstrapServers,
  clusterNodes,
  resolveClusterOptions,
  type BootstrapServers,
  type ClusterOptions,
  type ClusterOverrides,
} from './cluster-config.ts';
import { nodeListenPorts, nodePaths, runningRecord, startNode } from './cluster-node.ts';
import { existingOptions, recordClusterSettings, withSettings } from './cluster-settings.ts';
import { probeBrokers } from './cluster-status.ts';
import { assertIsStackDir, prepareMarkedDir } from './paths.ts';
import { isOurs, stopProcess, type PidRecord, type StopOutcome } from './processes.ts';

const LOCK_TIMEOUT_MS = 20 * 60_000;
const GRACE_MS = 30_000;

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
    await prepareMarkedDir(requested.dir, 'mirrorlog local Kafka cluster: data, pid files and logs of its nodes');
    const settings = await recordClusterSettings(requested);
    const o = withSettings(requested, settings);
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
