// What to publish for one path, given what the index says was published and what the
// filesystem holds now. Pure: the caller does the lstat/hash and the index lookups.
import { sameOwner, type EntryState } from '../../../schemas/event.ts';
import { sameAttributes } from '../../../schemas/entry-attributes.ts';
import type { RelPath } from '../../../schemas/rel-path.ts';

/** One change to publish: the path's new state, or `null` for a delete. */
export type Change = { path: RelPath; next: EntryState | null };

/**
 * Identity of a file's bytes as far as stat can tell, to avoid re-reading unchanged files;
 * for a directory, its identity (ino) and last change (ctime). Times are ms doubles, used
 * only to compare one stat with another, never published.
 */
export type Fingerprint = { ino: number; size: number; mtimeMs: number; ctimeMs: number };

export function sameFingerprint(a: Fingerprint, b: Fingerprint): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

export function sameState(a: EntryState, b: EntryState): boolean {
  if (!sameOwner(a.owner, b.owner) || a.mtimeNs !== b.mtimeNs || !sameAttributes(a, b)) return false;
  switch (a.kind) {
    case 'file':
      return (
        b.kind === 'file' &&
        a.hash === b.hash &&
        a.size === b.size &&
        a.mode === b.mode &&
        a.mtimeMs === b.mtimeMs &&
        a.link === b.link
      );
    case 'dir':
      return b.kind === 'dir' && a.mode === b.mode && a.mtimeMs === b.mtimeMs;
    case 'symlink':
      return b.kind === 'symlink' && a.target === b.target && a.mtimeMs === b.mtimeMs;
  }
}

/**
 * Whether a file must be read (hashed) again: it is new, was something else, or stat
 * says its bytes may differ. ctime is included because it is the one field a writer
 * cannot set back, so a rewrite that restores size and mtime is still caught.
 */
export function needsHash(indexed: Fingerprint | undefined, now: Fingerprint): boolean {
  return (
    indexed === undefined ||
    indexed.ino !== now.ino ||
    indexed.size !== now.size ||
    indexed.mtimeMs !== now.mtimeMs ||
    indexed.ctimeMs !== now.ctimeMs
  );
}

/**
 * Whether a file indexed as `state` may hold other bytes now. Entries rebuilt from the
 * topic have no fingerprint: then size + mtime decide, as rsync's quick check does.
 */
export function fileMayHaveChanged(
  state: { size: number; mtimeMs: number },
  indexed: Fingerprint | undefined,
  now: Fingerprint,
  /** Whole ms of the file's mtime now, floored exactly. */
  nowMtimeMs: number,
): boolean {
  if (indexed === undefined) return state.size !== now.size || state.mtimeMs !== nowMtimeMs;
  return needsHash(indexed, now);
}

/**
 * The changes for `path`. When it disappears or stops being a directory, whatever the
 * index holds below it is deleted first (deepest first), so each of those deletes gets a
 * lower seq than the path's own change, which is what the applier's rules 2 and 4
 * expect. `indexedBelow` is asked even when the index says the path was not a directory:
 * an index that missed a change (a lost watcher event) must not leave orphans behind.
 */
export function diffPath(
  path: RelPath,
  indexed: EntryState | undefined,
  observed: EntryState | undefined,
  indexedBelow: () => Iterable<RelPath>,
): Change[] {
  if (observed === undefined) {
    if (indexed === undefined) return [];
    return [...deletesBelow(indexedBelow()), { path, next: null }];
  }
  if (indexed === undefined) return [{ path, next: observed }];
  if (sameState(indexed, observed)) return [];
  if (observed.kind !== 'dir') return [...deletesBelow(indexedBelow()), { path, next: observed }];
  return [{ path, next: observed }];
}

/** Deletes for a removed subtree, children before their parents. */
export function deletesBelow(paths: Iterable<RelPath>): Change[] {
  const sorted = [...paths].sort((a, b) => depth(b) - depth(a) || (a < b ? -1 : a > b ? 1 : 0));
  return sorted.map((path) => ({ path, next: null }));
}

function depth(path: string): number {
  let count = 0;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 47) count++;
  return count;
}

/**
 * Whether a directory the index knows may be another one now: another inode, or the same
 * inode number with another ctime. rm -rf + mkdir often gets the freed inode number back
 * (ext4), and without a birth time (Node's stat has none here) a recreated directory is
 * told from a changed one only by its ctime, which also moves when entries are added or
 * removed (perhaps with their events lost). Either way it is examined in full, as new.
 * An index without the directory's fingerprint (older index, rebuilt from the topic)
 * cannot tell either.
 */
export function dirMayBeReplaced(indexed: Fingerprint | undefined, now: Fingerprint): boolean {
  return indexed === undefined || indexed.ino !== now.ino || indexed.ctimeMs !== now.ctimeMs;
}
