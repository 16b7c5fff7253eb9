// The vocabulary of the applier's decisions: what it recorded per path, what it can
// read of the replica, and the steps a decision asks the materializer to carry out.
import type { Owner } from '../../../schemas/event.ts';
import type { Attributes } from '../../../schemas/entry-attributes.ts';
import type { RelPath } from '../../../schemas/rel-path.ts';

/**
 * What the applier last did for a path. A directory is `explicit` while a `dir` event is
 * the latest it applied for that path; otherwise it exists only to hold entries and is
 * removed once empty. `absent` remembers the seq of a delete, so stale events for the
 * path (or below it) are recognised.
 */
/**
 * `mtimeNs`: the exact mtime (a decimal string) when the event carried it; else mtimeMs is
 * the time. `xattrs`, `acl`: as the event carried them (undefined: the replica's stay).
 */
type Times = { mtimeNs?: string } & Attributes;
export type AppliedEntry =
  | ({
      kind: 'file';
      seq: number;
      hash: string;
      size: number;
      mode: number;
      mtimeMs: number;
      owner?: Owner;
      /** The source inode's identity when other names link it (they are hard links here too). */
      link?: string;
    } & Times)
  | ({ kind: 'symlink'; seq: number; target: string; owner?: Owner; mtimeMs?: number } & Times)
  | ({ kind: 'dir'; seq: number; mode: number | null; explicit: boolean; owner?: Owner; mtimeMs?: number } & Times)
  | { kind: 'absent'; seq: number };

/** What an entry gets beside its mode (and a file's mtime): each part undefined is left as the applier makes it. */
export type EntryMeta = {
  owner?: Owner | undefined;
  mtimeMs?: number | undefined;
  mtimeNs?: string | undefined;
} & Attributes;

/** What `decide` may know about the replica: the applied index, read-only. */
export interface ReplicaView {
  get(path: RelPath): AppliedEntry | undefined;
  /**
   * Highest seq among the entries strictly below `path` that assert their own existence
   * (files, symlinks, explicit directories); -1 when there are none.
   */
  maxSeqBelow(path: RelPath): number;
  /** Number of present entries (any kind but `absent`) directly inside `path`. */
  childCount(path: RelPath): number;
  /** Some paths recorded as names of the source inode `link`, with their entries. */
  linkPeers(link: string): { path: RelPath; entry: AppliedEntry }[];
}

/** Mode given to a directory that exists only to hold entries, until its own event arrives. */
export const IMPLICIT_DIR_MODE = 0o755;

/**
 * `owner`: the source's, as the event carries it (the materializer's owner policy decides
 * what it becomes on the replica); undefined: left as the applier creates it.
 */
export type Step =
  /** Create a directory (IMPLICIT_DIR_MODE when mode is null); the path holds nothing. */
  | ({ op: 'mkdir'; path: RelPath; mode: number | null; owner?: Owner; mtimeMs?: number } & Times)
  /** An existing directory's mode, owner and mtime. */
  | ({ op: 'dir-meta'; path: RelPath; mode: number; owner?: Owner; mtimeMs?: number } & Times)
  /** Atomically replace the file or symlink at path (or nothing) with the content. */
  | ({ op: 'write'; path: RelPath; hash: string; size: number; mode: number; mtimeMs: number; owner?: Owner } & Times)
  /**
   * Make `path` another name of the file at `from`, which the index records with exactly
   * this state: a hard link, as on the source (`names`: how many names the inode may have
   * before it, so one planted from elsewhere is never linked).
   */
  | { op: 'link'; path: RelPath; from: RelPath; size: number; names: number }
  /** The file already holds these bytes: set mode, owner and mtime only. */
  | ({ op: 'set-meta'; path: RelPath; mode: number; mtimeMs: number; owner?: Owner } & Times)
  /** Atomically replace the file or symlink at path (or nothing) with a symlink. */
  | ({ op: 'symlink'; path: RelPath; target: string; owner?: Owner; mtimeMs?: number } & Times)
  | { op: 'unlink'; path: RelPath }
  /** Remove a directory and everything below it. */
  | { op: 'remove-tree'; path: RelPath }
  /** Remove a directory known to be empty. */
  | { op: 'rmdir'; path: RelPath }
  /** Applied-index updates; carried out after the filesystem steps before them. */
  | { op: 'record'; path: RelPath; entry: AppliedEntry }
  | { op: 'forget-below'; path: RelPath };

export type SkipReason =
  /** Rule 1: the path already holds this seq or a later one (a redelivery). */
  | 'already-applied'
  /** Rule 2: a file or symlink would replace a directory holding newer entries. */
  | 'newer-entries-below'
  /** Rule 3: an ancestor is a file or symlink with a seq not lower than the event's. */
  | 'newer-ancestor'
  /** Rule 3: an ancestor was deleted after the event happened. */
  | 'ancestor-deleted-later';

export type Decision = { kind: 'apply'; steps: Step[] } | { kind: 'skip'; reason: SkipReason; steps: Step[] };
