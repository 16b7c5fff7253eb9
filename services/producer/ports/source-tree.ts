// The source tree as the producer sees it: lstat, readdir, read, readlink and watch,
// relative to the root, never following a symlink. Two implementations keep one contract
// (test/helpers/source-tree-contract.ts): the local filesystem (adapters/node-source-tree.ts)
// and memory (adapters/memory-source-tree.ts), which the model test drives.
import type { Owner } from '../../../schemas/event.ts';
import type { Attributes } from '../../../schemas/entry-attributes.ts';
import type { AttributeScope, DroppedAttribute } from '../../shared/attributes.ts';
import type { Logger } from '../../shared/logger.ts';
import type { Fingerprint } from '../domain/diff.ts';

export type Probe =
  | { kind: 'missing' }
  /** fifo, socket, device: not mirrored. */
  | { kind: 'special' }
  /** mtimeMs: whole milliseconds, floored exactly from the nanoseconds (what the event carries). */
  /** `link`: the inode's identity (device:inode:birth time) when other names link it too. */
  | {
      kind: 'file';
      mode: number;
      fingerprint: Fingerprint;
      mtimeMs: number;
      owner?: Owner;
      mtimeNs?: string;
      link?: string;
    }
  /** fingerprint.ctimeMs: last change of the directory itself (created, renamed, an entry added or removed). */
  | { kind: 'dir'; mode: number; fingerprint: Fingerprint; owner?: Owner; mtimeMs?: number; mtimeNs?: string }
  /**
   * `owner` (ids only), `mtimeMs` (the entry's own), `mtimeNs` (exact, a decimal string):
   * undefined when the tree does not tell them.
   */
  | { kind: 'symlink'; owner?: Owner; mtimeMs?: number; mtimeNs?: string }
  /** lstat itself was refused (EACCES on a parent without search permission). */
  | { kind: 'unreadable'; code: string };

export type ListedName = { name: string; kind: 'file' | 'dir' | 'symlink' | 'special' };

/**
 * A directory's names, in canonical text (bytes that are not UTF-8 escaped:
 * schemas/name-bytes.ts). `unreadable`: the directory exists but cannot be listed
 * (EACCES): counted and skipped, never fatal.
 */
export type Listing =
  { status: 'ok'; entries: ListedName[] } | { status: 'missing' } | { status: 'unreadable'; code: string };

/** A name with what lstat says of it (`missing`: gone since the listing). */
export type ScannedName = { name: string; probe: Probe };

/** A directory's names and their probes in one pass: what a walk compares with the index. */
export type Scan = { status: 'ok'; entries: ScannedName[] } | Exclude<Listing, { status: 'ok' }>;

export type AttributeRead = { attributes: Attributes; dropped: DroppedAttribute[] };

/** `target`: in canonical text, as names are. */
export type LinkRead = { status: 'ok'; target: string } | { status: 'missing' };

/** What was read: small files whole (`data`: uploaded as read), large ones by a file to stream. */
export type FileContent = { data: Buffer } | { file: string; release?: () => void };

/**
 * `changed`: the file is not at rest (its stat before or after the read differs from the
 * expected one): retried, never published torn. `unreadable`: it cannot be opened (EACCES).
 */
export type ReadResult =
  | { status: 'ok'; hash: string; size: number; content: FileContent }
  | { status: 'changed' }
  | { status: 'missing' }
  | { status: 'unreadable'; code: string };

export type ReadOptions = {
  /**
   * A consistent snapshot of a file that never comes to rest: the bytes are copied once and
   * what is hashed is exactly what is uploaded, whatever the file does meanwhile.
   */
  snapshot?: boolean;
};

/** A watcher's report: look at this path again. `delete` also tells the watcher to drop what it held below. */
export type WatchHint = { path: string; type: 'create' | 'update' | 'delete' };

export type WatchSink = {
  onHints(hints: WatchHint[]): void;
  /** The watcher lost track (a read failed, a native error): the caller reconciles. */
  onError(error: Error): void;
  /** Events were lost (kernel queue overflow): the caller reconciles and counts it. */
  onOverflow(reason: string): void;
};

export type WatchOptions = {
  /** Globs of excluded trees (backends that can, do not even watch them). */
  ignore: string[];
  isExcluded: (relPath: string) => boolean;
  logger?: Logger;
};

export interface TreeWatch {
  /**
   * Makes sure changes below `dir` (last changed at `changedAtMs`) are reported under their
   * real paths. Resolves true when a subscription was made just now: what changed below
   * before it was active went unreported, and the caller checks the subtree.
   */
  watchSubtree(dir: string, changedAtMs: number): Promise<boolean>;
  /** Drops what was placed at or below a directory that went away. */
  forget(dir: string): Promise<void>;
  readonly subscriptionCount: number;
  /** Which backend watches (fanotify, inotify, parcel, ...) and why it was chosen. */
  readonly backend: string;
  readonly reason: string;
  /** Directories watched, and those that could not be (a watch limit), for /metrics. */
  status(): { watched: number; unwatched: number };
  stop(): Promise<void>;
}

export interface SourceTree {
  lstat(relPath: string): Probe;
  readdir(relDir: string): Listing;
  /**
   * readdir and an lstat of each name, as one call (the local tree scans natively). A
   * symlink to a directory is `missing` here: a walk never follows one.
   */
  scan(relDir: string): Scan;
  /** scan, its syscalls off the main thread: a walk keeps several directories scanning ahead. */
  scanAsync(relDir: string): Promise<Scan>;
  readlink(relPath: string): LinkRead;
  /**
   * The entry's extended attributes and ACLs in `scope` (a symlink's own); `dropped`: those
   * that cannot travel. Undefined when they cannot be read (gone, refused): none are carried.
   */
  readAttributes(relPath: string, scope: AttributeScope): AttributeRead | undefined;
  /** Reads and hashes a file that lstat described as `expected`. */
  readFile(relPath: string, expected: Fingerprint, options?: ReadOptions): Promise<ReadResult>;
  /**
   * Starts watching the whole tree; resolves once events flow. A backend that watches
   * per directory watches each directory the producer lists from then on, before it is listed.
   */
  watch(sink: WatchSink, options: WatchOptions): Promise<TreeWatch>;
}
