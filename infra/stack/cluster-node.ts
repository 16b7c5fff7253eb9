// One node of the local Kafka cluster: its files, whether a process of ours runs it, and
// starting it (config written each time, storage formatted once with the cluster's id).
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ensureKafkaInstalled } from './install-kafka.ts';
import { findJava, formatKafkaStorage, isFormatted, kafkaLaunchSpec, kafkaLog4j2Properties } from './kafka-server.ts';
import {
  clusterNodeProperties,
  clusterNodes,
  nodeDir,
  scramFormatArgs,
  type ClusterOptions,
  type NodePorts,
} from './cluster-config.ts';
import { serverPathsIn, type ServerPaths } from './paths.ts';
import { isOurs, launch, readPidFile, type PidRecord } from './processes.ts';

export function nodePaths(o: Pick<ClusterOptions, 'dir'>, nodeId: number): ServerPaths {
  return serverPathsIn(nodeDir(o, nodeId), 'kafka.pid.json');
}

/** The pid record of node `nodeId` when a process of ours still runs it. */
export async function runningRecord(o: ClusterOptions, nodeId: number): Promise<PidRecord | undefined> {
  const record = await readPidFile(nodePaths(o, nodeId).pidFile);
  return record !== undefined && (await isOurs(record)) ? record : undefined;
}

export function nodeListenPorts(o: ClusterOptions, n: NodePorts): number[] {
  return o.security === undefined ? [n.client, n.controller] : [n.client, n.controller, n.tls, n.saslTls];
}

/** Writes node `nodeId`'s config, formats it the first time, and launches it. */
export async function startNode(o: ClusterOptions, clusterId: string, nodeId: number): Promise<PidRecord> {
  const java = await findJava();
  const install = await ensureKafkaInstalled(o.cacheDir, o.log);
  const paths = nodePaths(o, nodeId);
  for (const dir of [paths.configDir, paths.logDir, paths.dataDir]) await mkdir(dir, { recursive: true });
  await writeFile(join(paths.configDir, 'server.properties'), clusterNodeProperties(o, nodeId - 1));
  await writeFile(join(paths.configDir, 'log4j2.properties'), kafkaLog4j2Properties(paths.logDir));
  if (!isFormatted(paths))
    await formatKafkaStorage(java, install.classPath, paths, clusterId, scramFormatArgs(o.security));
  const ports = clusterNodes(o)[nodeId - 1]!;
  return launch(kafkaLaunchSpec(java, install, paths, o.heap), paths.pidFile, {
    version: install.version,
    nodeId,
    ports,
  });
}
