// What `mirrorlog status` reports, computed from plain numbers (offsets, commit notes,
// group members, dead-letter counts) so it can be tested without a broker. "In sync"
// means all of: lag 0, no dead letters outstanding, no failing partition, one applier,
// and the last verify (when one ran) without drift; otherwise the status names which.
import { parseReplicaNote, type ReplicaNote } from '../shared/replica-note.ts';
import { formatPartitionHealth, type PartitionHealth } from './status-partitions.ts';

export type PartitionOffsets = { partition: number; low: number; high: number };

/** What the applier stores with each offset commit (the commit's metadata, JSON): replica-note.ts. */
export type CommitNote = ReplicaNote;

/** What a replica's group, dead-letter topic and last verify say beyond its offsets. */
export type ReplicaFacts = {
  /** Live members of the replica's group (appliers). */
  members: number;
  /** Records in the replica's dead-letter topic (they stay until it expires or they are deleted). */
  deadLetters: number;
  /** The last `mirrorlog verify` of this replica, if one was recorded. */
  lastVerify: VerifyRecord | undefined;
};

export type VerifyRecord = { at: number; drifts: number };

export type GroupSample = {
  replica: string;
  /** Committed offset per partition (-1: nothing committed yet). */
  committed: Map<number, number>;
  notes: Map<number, CommitNote>;
};

export type ReplicaState = 'in sync' | 'catching up' | 'stalled' | 'offline' | 'not in sync';

export type ReplicaStatus = {
  replica: string;
  /** 'in sync' only when nothing in `problems` holds and the lag is 0. */
  state: ReplicaState;
  /** Every reason the replica is not in sync, besides lag (empty when it is, or only catching up). */
  problems: string[];
  lag: number;
  lagByPartition: Record<number, number>;
  lastAppliedAt: number | undefined;
  /** The applier's latest commit or heartbeat. */
  lastSeenAt: number | undefined;
  /** Set when no applier is in the group and the last one was seen longer ago than the threshold. */
  offlineSince: number | undefined;
  eventsPerSecond: number;
  stalled: boolean;
  members: number;
  deadLetters: number;
  /** What the applier last said keeps it from applying (a failing partition, a refused store). */
  failing: string | undefined;
  lastVerify: VerifyRecord | undefined;
};

export type ProducerStatus = { lastSeq: number; lastPublishedAt: number } | undefined;

export type StatusReport = {
  topic: string;
  at: number;
  records: number;
  replicas: ReplicaStatus[];
  producer: ProducerStatus;
  /** Under-replicated and offline partitions of the topic (status-partitions.ts). */
  partitions?: PartitionHealth;
};

export const parseCommitNote = parseReplicaNote;

/** The defaults of `facts` for a replica about which nothing else is known. */
export const NO_FACTS: ReplicaFacts = { members: 1, deadLetters: 0, lastVerify: undefined };

const latest = (values: (number | undefined)[]): number | undefined => {
  const known = values.filter((v): v is number => v !== undefined);
  return known.length === 0 ? undefined : Math.max(...known);
};

/**
 * One replica's status from two samples `seconds` apart. A replica is stalled when it
 * is behind and has committed nothing new for `stallAfterMs` (by the applier's own
 * commit times, so a short sample window is enough to tell).
 */
export function replicaStatus(
  offsets: PartitionOffsets[],
  first: GroupSample,
  second: GroupSample,
  seconds: number,
  now: number,
  stallAfterMs: number,
  facts: ReplicaFacts = NO_FACTS,
  offlineAfterMs = Number.POSITIVE_INFINITY,
): ReplicaStatus {
  const lagByPartition: Record<number, number> = {};
  let lag = 0;
  let moved = 0;
  for (const { partition, low, high } of offsets) {
    const committed = second.committed.get(partition) ?? -1;
    const position = committed < 0 ? low : Math.max(committed, low);
    lagByPartition[partition] = Math.max(0, high - position);
    lag += lagByPartition[partition];
    const before = first.committed.get(partition) ?? -1;
    if (committed > before) moved += committed - Math.max(before, low);
  }
  const notes = [...second.notes.values()];
  const lastAppliedAt = latest(notes.map((n) => n.appliedAt));
  const lastSeenAt = latest(notes.map((n) => n.aliveAt ?? n.appliedAt));
  // The freshest note speaks for the applier now; a problem it reported earlier may be gone.
  const freshest = notes.reduce<CommitNote | undefined>(
    (best, n) => ((n.aliveAt ?? n.appliedAt ?? 0) > (best?.aliveAt ?? best?.appliedAt ?? -1) ? n : best),
    undefined,
  );
  const failing = freshest?.problem;
  const idleFor = lastAppliedAt === undefined ? Number.POSITIVE_INFINITY : now - lastAppliedAt;
  const gone = facts.members === 0 && (lastSeenAt === undefined || now - lastSeenAt >= offlineAfterMs);
  const offlineSince = gone ? lastSeenAt : undefined;
  const stalled = !gone && lag > 0 && moved === 0 && idleFor >= stallAfterMs;
  const problems: string[] = [];
  if (gone)
    problems.push(
      lastSeenAt === undefined
        ? 'offline: no applier was ever seen'
        : `offline since ${new Date(lastSeenAt).toISOString()}`,
    );
  if (facts.members > 1) problems.push(`${facts.members} appliers share this replica's group (a duplicate --replica?)`);
  if (failing !== undefined && !gone) problems.push(`failing: ${failing}`);
  if (facts.deadLetters > 0) problems.push(`${facts.deadLetters} dead letter(s) outstanding`);
  if (facts.lastVerify !== undefined && facts.lastVerify.drifts > 0) {
    problems.push(
      `the last verify (${new Date(facts.lastVerify.at).toISOString()}) found ${facts.lastVerify.drifts} drift(s)`,
    );
  }
  if (stalled) problems.push('stalled: behind and applying nothing');
  const state: ReplicaState = gone
    ? 'offline'
    : stalled
      ? 'stalled'
      : problems.length > 0
        ? 'not in sync'
        : lag === 0
          ? 'in sync'
          : 'catching up';
  return {
    replica: second.replica,
    state,
    problems,
    lag,
    lagByPartition,
    lastAppliedAt,
    lastSeenAt,
    offlineSince,
    eventsPerSecond: seconds > 0 ? Math.round(moved / seconds) : 0,
    stalled,
    members: facts.members,
    deadLetters: facts.deadLetters,
    failing,
    lastVerify: facts.lastVerify,
  };
}

/** Whether `status` exits 1: a replica that is not merely catching up. */
export function needsAttention(status: ReplicaStatus): boolean {
  return status.problems.length > 0;
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
  if (report.partitions !== undefined) lines.push(formatPartitionHealth(report.partitions));
  lines.push(
    report.producer === undefined
      ? 'producer: nothing published yet'
      : `producer: last seq ${report.producer.lastSeq}, published ${ago(report.at, report.producer.lastPublishedAt)}`,
  );
  if (report.replicas.length === 0) lines.push('replicas: none (no consumer group mirrorlog.replica.* on this topic)');
  for (const r of report.replicas) {
    const behind = Object.entries(r.lagByPartition)
      .filter(([, lag]) => lag > 0)
      .map(([partition, lag]) => `p${partition}:${lag}`)
      .join(' ');
    // The state first ("offline since T" as it is), then every other reason it is not in sync.
    const named =
      r.state === 'offline' || r.state === 'stalled' ? r.problems.find((p) => p.startsWith(r.state)) : undefined;
    const state =
      named !== undefined
        ? r.state === 'stalled'
          ? 'STALLED'
          : named
        : r.state === 'not in sync'
          ? 'NOT IN SYNC'
          : r.state;
    const others = r.problems.filter((p) => p !== named);
    const why = others.length === 0 ? '' : ` (${others.join('; ')})`;
    lines.push(
      `replica ${r.replica}: ${state}${why}, lag ${r.lag}${behind === '' ? '' : ` (${behind})`}, ` +
        `${r.eventsPerSecond} events/s, last applied ${ago(report.at, r.lastAppliedAt)}`,
    );
  }
  return lines.join('\n');
}
