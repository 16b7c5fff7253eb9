// What `mirrorlog status` reports, computed from plain numbers (offsets, commit times)
// so it can be tested without a broker.

import { REPLICA_GROUP_PREFIX, type CommitNote } from '../../schemas/names.ts';

export { parseCommitNote, type CommitNote } from '../../schemas/names.ts';

export type PartitionOffsets = { partition: number; low: number; high: number };

export type GroupSample = {
  replica: string;
  /** Committed offset per partition (-1: nothing committed yet). */
  committed: Map<number, number>;
  notes: Map<number, CommitNote>;
};

export type ReplicaStatus = {
  replica: string;
  lag: number;
  lagByPartition: Record<number, number>;
  lastAppliedAt: number | undefined;
  eventsPerSecond: number;
  stalled: boolean;
};

export type ProducerStatus = { lastSeq: number; lastPublishedAt: number } | undefined;

export type StatusReport = { topic: string; at: number; records: number; replicas: ReplicaStatus[]; producer: ProducerStatus };

/**
 * One replica's status from two samples `seconds` apart. A replica is stalled when it
 * is behind and has committed nothing new for `stallAfterMs` (by the applier's own
 * commit times, so a short sample window is enough to tell).
 */
export function replicaStatus(offsets: PartitionOffsets[], first: GroupSample, second: GroupSample, seconds: number, now: number, stallAfterMs: number): ReplicaStatus {
  const lagByPartition: Record<number, number> = {};
  let lag = 0;
  let moved = 0;
  for (const { partition, low, high } of offsets) {
    const committed = second.committed.get(partition) ?? -1;
    const position = committed < 0 ? low : Math.max(committed, low);
    lagByPartition[partition] = Math.max(0, high - position);
    lag += lagByPartition[partition]!;
    const before = first.committed.get(partition) ?? -1;
    if (committed > before) moved += committed - Math.max(before, low);
  }
  const notes = [...second.notes.values()];
  const lastAppliedAt = notes.length === 0 ? undefined : Math.max(...notes.map((n) => n.appliedAt));
  const idleFor = lastAppliedAt === undefined ? Number.POSITIVE_INFINITY : now - lastAppliedAt;
  return {
    replica: second.replica,
    lag,
    lagByPartition,
    lastAppliedAt,
    eventsPerSecond: seconds > 0 ? Math.round(moved / seconds) : 0,
    stalled: lag > 0 && moved === 0 && idleFor >= stallAfterMs,
  };
}

function ago(now: number, at: number | undefined): string {
  if (at === undefined) return 'never';
  const seconds = Math.max(0, Math.round((now - at) / 1000));
  if (seconds < 120) return `${seconds}s ago`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m ago`;
  return `${Math.round(seconds / 3600)}h ago`;
}

export function formatStatus(report: StatusReport): string {
  const lines = [`topic ${report.topic}: ${report.records} records`];
  lines.push(
    report.producer === undefined
      ? 'producer: nothing published yet'
      : `producer: last seq ${report.producer.lastSeq}, published ${ago(report.at, report.producer.lastPublishedAt)}`,
  );
  if (report.replicas.length === 0) lines.push(`replicas: none (no consumer group ${REPLICA_GROUP_PREFIX}<topic>.* on this topic)`);
  for (const r of report.replicas) {
    const behind = Object.entries(r.lagByPartition)
      .filter(([, lag]) => lag > 0)
      .map(([partition, lag]) => `p${partition}:${lag}`)
      .join(' ');
    lines.push(
      `replica ${r.replica}: ${r.stalled ? 'STALLED' : r.lag === 0 ? 'in sync' : 'catching up'}, lag ${r.lag}${behind === '' ? '' : ` (${behind})`}, ${r.eventsPerSecond} events/s, last applied ${ago(report.at, r.lastAppliedAt)}`,
    );
  }
  return lines.join('\n');
}
