// The applied index: per path, what the applier last did (see domain/plan.ts). The
// in-memory and SQLite implementations pass one contract suite (test/helpers).
import type { RelPath } from '../../../schemas/rel-path.ts';
import type { AppliedEntry, ReplicaView } from '../domain/plan.ts';

/**
 * A dead-lettered record whose content was asked for again (heal-channel.ts), kept with
 * the index until it is applied once more: a restart must not forget what the replica
 * still lacks, since the record's offset is committed past it.
 */
export type HealWait = {
  readonly partition: number;
  readonly offset: number;
  readonly hash: string;
  readonly reason: 'content-missing' | 'content-mismatch';
  /** When the content was first asked for (ms epoch). */
  readonly since: number;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: Record<string, string>;
};

/** How many names of one inode decide and the materializer look at (a link group is rarely larger). */
export const LINK_PEERS = 64;

export interface AppliedIndex extends ReplicaView {
  /** `get` of every ancestor of `path`, outermost first ('' left out), in O(length of path). */
  ancestorEntries(path: RelPath): (AppliedEntry | undefined)[];
  record(path: RelPath, entry: AppliedEntry): void;
  /** Drops every entry strictly below `path`. */
  forgetBelow(path: RelPath): void;
  /**
   * Drops the tombstones of deletes older than `seq`. They only damp transient flaps of
   * late events (the rules converge without them), so they need not be kept forever.
   * At most `limit` are dropped per call (unbounded by default); returns how many.
   */
  pruneTombstones(seq: number, limit?: number): number;
  /** Some paths (at most `limit`) that hold a file with this content, for local copies. */
  pathsWithHash(hash: string, limit: number): RelPath[];
  /** Some paths (at most `limit`) recorded as names of the source inode `link`, with their entries. */
  linkPeers(link: string, limit?: number): { path: RelPath; entry: AppliedEntry }[];
  /** Every entry, in path order; for sweeps and verification. */
  entries(): Iterable<[RelPath, AppliedEntry]>;
}

/**
 * The applier's whole persistent state: the index plus what a rebuild and a restart
 * need. Writes are grouped into transactions that `commit()` ends (the applier commits
 * at its durability points, after the filesystem is durable, so the index is never
 * ahead of the disk).
 *
 * Epochs: every entry carries the epoch in which it was last recorded or touched. A
 * rebuild starts a new epoch and touches every path its replay meets; entries left in
 * older epochs are what the log no longer holds, and the sweep removes them.
 */
export interface ReplicaIndex extends AppliedIndex {
  readonly epoch: number;
  /** Entries recorded or touched from now on carry `epoch`. */
  setEpoch(epoch: number): void;
  /** Marks the path's entry, if any, as seen in the current epoch. */
  touch(path: RelPath): void;
  /** Up to `limit` entries from epochs before the current one, in descending path order, strictly before `before`. */
  staleEntries(limit: number, before?: RelPath): [RelPath, AppliedEntry][];
  /** Up to `limit` present directories in path order, strictly after `after` (for a walk of the tree). */
  directories(limit: number, after?: RelPath): RelPath[];
  /** Names of the present entries directly inside `dir` ('' is the root). */
  presentChildren(dir: RelPath | ''): string[];
  remove(path: RelPath): void;
  /** At least one present entry (any kind but `absent`). */
  hasPresentEntries(): boolean;
  /**
   * Drops every entry and heal wait (not the metadata): a rebuild starts over, and its
   * replay meets the records that still lack content again.
   */
  clear(): void;
  readMeta<T>(key: string): T | undefined;
  /** Heal waits in (partition, offset) order, at most `limit`. */
  healWaits(limit: number): HealWait[];
  /** Adds or replaces the wait of the record at (partition, offset). */
  recordHealWait(wait: HealWait): void;
  dropHealWait(partition: number, offset: number): void;
  writeMeta(key: string, value: unknown): void;
  /** Ends the current transaction durably; the next write opens another. */
  commit(): void;
  close(): void;
}

/** Whether an entry counts for rule 2 and 4's "a higher seq below". */
export function assertsExistence(entry: AppliedEntry): boolean {
  return entry.kind === 'file' || entry.kind === 'symlink' || (entry.kind === 'dir' && entry.explicit);
}

/** Byte order of the UTF-8 encodings (SQLite's BINARY collation), for in-memory sorting. */
export function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
