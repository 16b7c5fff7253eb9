// What the local Kafka cluster looks like now: which nodes run a process of ours, which
// are registered brokers (one metadata request), and the KRaft quorum's leader.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describeKafka } from './health.ts';
import {
  activeControllerOf,
  bootstrapServers,
  clusterNodes,
  type BootstrapServers,
  type ClusterOptions,
  type ClusterOverrides,
  type NodePorts,
} from './cluster-config.ts';
import { nodePaths, runningRecord } from './cluster-node.ts';
import { existingOptions, SETTINGS_FILE } from './cluster-settings.ts';

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

/** The registered brokers' ids (sorted), from one bounded metadata request. */
export async function probeBrokers(brokers: string[]): Promise<{ ok: boolean; ids: number[]; detail: string }> {
  const answer = await describeKafka(brokers);
  if (!answer.ok) return { ok: false, ids: [], detail: answer.detail };
  const { brokerIds, clusterId } = answer.metadata;
  return { ok: true, ids: [...brokerIds].sort(), detail: `${brokerIds.length} broker(s), cluster ${clusterId}` };
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
