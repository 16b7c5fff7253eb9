// The log's own health for `mirrorlog status`: partitions with fewer in-sync replicas
// than replicas (one more broker loss away from refusing writes or losing data) and
// partitions with no leader at all (reads and writes stop). Pure, from topic metadata.

export interface PartitionReplicas {
  partitionId: number;
  leader: number;
  replicas: number[];
  isr: number[];
}

export interface PartitionHealth {
  partitions: number;
  /** The fewest replicas any partition has: the topic's effective replication factor. */
  replicationFactor: number;
  underReplicated: number[];
  offline: number[];
}

export function partitionHealth(partitions: readonly PartitionReplicas[]): PartitionHealth {
  const sorted = [...partitions].sort((a, b) => a.partitionId - b.partitionId);
  return {
    partitions: sorted.length,
    replicationFactor: sorted.length === 0 ? 0 : Math.min(...sorted.map((p) => p.replicas.length)),
    underReplicated: sorted.filter((p) => p.isr.length < p.replicas.length).map((p) => p.partitionId),
    offline: sorted.filter((p) => p.leader < 0 || !p.isr.includes(p.leader)).map((p) => p.partitionId),
  };
}

export function formatPartitionHealth(health: PartitionHealth): string {
  const list = (ids: number[]) => ids.map((id) => `p${id}`).join(' ');
  const problems = [
    health.offline.length === 0 ? '' : `${health.offline.length} OFFLINE (${list(health.offline)})`,
    health.underReplicated.length === 0
      ? ''
      : `${health.underReplicated.length} under-replicated (${list(health.underReplicated)})`,
  ].filter((p) => p !== '');
  return (
    `partitions: ${health.partitions}, replication factor ${health.replicationFactor}, ` +
    `${problems.length === 0 ? 'all replicas in sync' : problems.join(', ')}`
  );
}
