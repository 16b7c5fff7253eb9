// The local stack's programmatic API (tests, `mirrorlog up`): real Kafka and S3 servers
// on loopback, installed on first use into ~/.cache/mirrorlog.
export { ensureStackUp, stackDown, startServer, stopServer } from './stack.ts';
export type { DownResult, StackEndpoints } from './stack.ts';
export { stackStatus } from './stack-status.ts';
export type { ServerStatus, StackStatus } from './stack-status.ts';
export { resolveStackOptions, serverPaths, stackPorts, ENV as STACK_ENV } from './paths.ts';
export type { ServerName, StackOptions, StackOverrides } from './paths.ts';
export type { StopOutcome } from './processes.ts';
export { instanceDir, instanceOverrides, instancesDir, recordedInstancePorts } from './instance.ts';
export { clusterDown, ensureClusterUp, startClusterNode, stopClusterNode } from './cluster.ts';
export type { ClusterEndpoints } from './cluster.ts';
export { clusterStatus } from './cluster-status.ts';
export type { ClusterNodeStatus, ClusterStatus } from './cluster-status.ts';
export { bootstrapServers, resolveClusterOptions } from './cluster-config.ts';
export type { BootstrapServers, ClusterOverrides, ClusterSecurity, ClusterUser } from './cluster-config.ts';
