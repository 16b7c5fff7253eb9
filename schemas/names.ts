// Every name that crosses a process boundary, in one place: consumer groups, topics
// derived from the events topic, record headers of the dead-letter topic, what an offset
// commit carries, and the keys of the services' meta tables. A literal of one of these
// anywhere else is a bug waiting for a rename.

/** Meta keys of the producer's index (services/producer/ports/source-index.ts). */
export const META_KEY = {
  /** The last seq issued (decimal): the hybrid clock never goes below it after a restart. */
  lastSeq: 'lastSeq',
  /** 'true' once the index is complete (built by this producer, or rebuilt from the topic). */
  complete: 'complete',
  /** The topic, source and root the index describes (a state directory serves one of each). */
  topic: 'topic',
  source: 'source',
  root: 'root',
} as const;

/** Prefixes of the throw-away consumer groups of tools that read a topic once (a random suffix follows). */
export const GROUP_PREFIX = {
  producerIndexRebuild: 'mirrorlog.producer-index-rebuild',
  reader: 'mirrorlog.reader',
  gc: 'mirrorlog.gc',
} as const;

/** Meta keys of the applier's index (services/applier/adapters/applied-index.ts). */
export const REPLICA_META_KEY = {
  /** Per partition, the next offset the index covers (what a restart resumes from). */
  positions: 'positions',
  /** A rebuild in progress (null once it finished). */
  rebuild: 'rebuild',
  /** The target's identity (device, inode): an index never serves another directory. */
  identity: 'identity',
  /** Incremented by every rebuild. */
  epoch: 'epoch',
} as const;

/** Consumer groups of replicas: `mirrorlog.replica.<topic>.<replica>`. */
export const REPLICA_GROUP_PREFIX = 'mirrorlog.replica.';

/**
 * The consumer group of one replica of one topic. The topic is part of it: two trees whose
 * appliers share a replica name must not share (and steal each other's) partitions.
 */
export function replicaGroupId(topic: string, replica: string): string {
  return `${REPLICA_GROUP_PREFIX}${topic}.${replica}`;
}

/** The replica of `topic` a group id belongs to, or undefined for any other group. */
export function replicaOfGroup(groupId: string, topic: string): string | undefined {
  const prefix = `${REPLICA_GROUP_PREFIX}${topic}.`;
  return groupId.startsWith(prefix) && groupId.length > prefix.length ? groupId.slice(prefix.length) : undefined;
}

/** The group name used before the topic was part of it (adopted once, see services/applier/group-migration.ts). */
export function legacyReplicaGroupId(replica: string): string {
  return `${REPLICA_GROUP_PREFIX}${replica}`;
}

/** The dead-letter topic of one replica. */
export function deadLetterTopic(topic: string, replica: string): string {
  return `${topic}.dlq.${replica}`;
}

/** Headers added to every dead letter (next to the record's own key, value and headers). */
export const DEAD_LETTER_HEADERS = {
  code: 'mirrorlog.error.code',
  field: 'mirrorlog.error.field',
  message: 'mirrorlog.error.message',
  sourceTopic: 'mirrorlog.source.topic',
  sourcePartition: 'mirrorlog.source.partition',
  sourceOffset: 'mirrorlog.source.offset',
  replica: 'mirrorlog.replica',
  /** Set when the value was left out (too large for the dead-letter topic): its size in bytes. */
  valueOmitted: 'mirrorlog.value.omitted',
} as const;

/**
 * Every code a dead letter's `mirrorlog.error.code` header can carry, with what it means
 * for an operator (README.md "Reading the dead-letter topic" prints this table).
 */
export const DEAD_LETTER_CODES = {
  'missing-key': 'the record has no key (every record is keyed by its path)',
  'invalid-key': 'the key is not a valid relative path (not UTF-8, absolute, `..`, too long a segment)',
  'invalid-json': 'the value is not JSON',
  'invalid-field': 'a field of the value or a header is missing or out of range (the field header names it)',
  'invalid-header': 'a required header (v, source, seq, ts) is missing or malformed',
  mismatch: 'the key, headers and value disagree (e.g. the value names another path)',
  'content-mismatch': "the content (inline, or fetched from the store) does not hash to the event's hash",
  'content-missing': 'the store does not hold the content the event names, after retries',
  'unsafe-path': 'applying it would leave the target (a symlink or a non-directory on the way)',
  'path-too-long': 'the target filesystem refuses the path (ENAMETOOLONG)',
  'too-large':
    'the value (or its batch, decompressed) is over the size the applier decodes; large content goes through the store',
  'seq-in-future': "the seq is more than a day ahead of the applier's clock (last-writer-wins would freeze the path)",
} as const;

export type DeadLetterCode = keyof typeof DEAD_LETTER_CODES;

/** What the applier stores with each offset commit: when it applied what the commit covers. */
export type CommitNote = { appliedAt: number };

export function encodeCommitNote(note: CommitNote): string {
  return JSON.stringify(note);
}

export function parseCommitNote(metadata: string | null | undefined): CommitNote | undefined {
  if (metadata === null || metadata === undefined || metadata === '') return undefined;
  try {
    const value = JSON.parse(metadata) as Partial<CommitNote>;
    return typeof value.appliedAt === 'number' && Number.isFinite(value.appliedAt)
      ? { appliedAt: value.appliedAt }
      : undefined;
  } catch {
    return undefined;
  }
}
