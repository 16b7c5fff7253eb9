// Which children of a directory need examining, from its listing and what the index
// holds for it. Pure: the caller lists, lstats and queries.
import { sameOwner, type Owner } from '../../../schemas/event.ts';
import { sameAttributes, type Attributes } from '../../../schemas/entry-attributes.ts';
import { dirMayBeReplaced, fileMayHaveChanged, type Fingerprint } from './diff.ts';

export type IndexedChild = {
  name: string;
  kind: 'file' | 'dir' | 'symlink';
  fingerprint: Fingerprint | undefined;
  size?: number;
  mtimeMs?: number;
  mode?: number;
  target?: string;
  owner?: Owner;
  /** Undefined when the index holds none (carried by neither side, or indexed before they were). */
  attributes?: Attributes;
};
export type ListedChild = {
  name: string;
  kind: 'file' | 'dir' | 'symlink' | 'special';
  mode?: number;
  fingerprint?: Fingerprint;
  /** Whole ms of the entry's own mtime, floored exactly (symlinks and directories: when stat'ed). */
  mtimeMs?: number;
  target?: string;
  /** Ids only; undefined when the listing did not stat the child. */
  owner?: Owner;
  /** Extended attributes and ACLs; undefined when the listing does not read them. */
  attributes?: Attributes;
};

export type DirComparison = {
  /** Children to examine. */
  changed: string[];
  /** Directories present on both sides, to descend into. */
  subdirs: string[];
  /** Unchanged files known without a fingerprint (index rebuilt from the topic): record it. */
  adopt: { name: string; fingerprint: Fingerprint }[];
  /** Whether a difference was let go under `legacyMetadata: 'defer'`: the sides are not the same. */
  deferred: boolean;
};

/** Whether the index's children are exactly the listing: nothing to examine, record or defer. */
export function isExactMatch(comparison: DirComparison): boolean {
  return comparison.changed.length === 0 && comparison.adopt.length === 0 && !comparison.deferred;
}

/**
 * Names-only comparison (a cheap check after a lost event): children that appeared or
 * vanished. With `listed` stats (a full reconcile), also children whose kind, mode or
 * stat fingerprint differ; directories present on both sides are returned separately
 * so the caller can descend into them.
 */
export function compareDirectory(
  indexed: Iterable<IndexedChild>,
  listed: Iterable<ListedChild>,
  /**
   * `inode`: a subdirectory is examined as another one only when its inode changed (the
   * walk compares what it holds anyway). `inode-or-ctime`: also when its ctime moved,
   * after a loss the watcher reported (a directory recreated under its old inode number
   * may have been left unwatched); it costs an examination of every changed directory.
   */
  dirIdentity: 'inode' | 'inode-or-ctime' = 'inode',
  /**
   * `defer`: an owner, own mtime or attributes the index does not hold at all (written
   * before record format 2, or before --xattrs/--acls) is not a change. The start-up walk
   * defers them: after an upgrade it would otherwise republish the whole tree before the
   * producer is live; the periodic walk, rate-limited while live, publishes them instead.
   */
  legacyMetadata: 'compare' | 'defer' = 'compare',
): DirComparison {
  const defer = legacyMetadata === 'defer';
  let deferred = false;
  /** Whether a difference is let go because the index holds nothing of it (and notes that). */
  const deferring = (unknown: boolean) => defer && unknown && (deferred = true);
  const ownerChanged = (known: IndexedChild, child: ListedChild) =>
    child.owner !== undefined && !sameOwner(known.owner, child.owner) && !deferring(known.owner === undefined);
  const ownTimeChanged = (known: IndexedChild, child: ListedChild) =>
    child.mtimeMs !== undefined && child.mtimeMs !== known.mtimeMs && !deferring(known.mtimeMs === undefined);
  const attributesChanged = (known: IndexedChild, child: ListedChild) =>
    child.attributes !== undefined &&
    !sameAttributes(known.attributes ?? {}, child.attributes) &&
    !deferring(known.attributes === undefined);
  const byName = new Map<string, IndexedChild>();
  for (const child of indexed) byName.set(child.name, child);
  const changed: string[] = [];
  const subdirs: string[] = [];
  // Unchanged files known without a fingerprint (index rebuilt from the topic): record it.
  const adopt: { name: string; fingerprint: Fingerprint }[] = [];
  for (const child of listed) {
    const known = byName.get(child.name);
    byName.delete(child.name);
    if (known === undefined) {
      if (child.kind !== 'special') changed.push(child.name);
    } else if (child.kind === 'special' || child.kind !== known.kind) {
      changed.push(child.name);
    } else if (ownerChanged(known, child) || attributesChanged(known, child)) {
      changed.push(child.name); // chown, setxattr (or an index from before they were carried)
      if (child.kind === 'dir') subdirs.push(child.name);
    } else if (child.kind === 'dir') {
      if (child.mode !== undefined && child.mode !== known.mode) changed.push(child.name);
      else if (ownTimeChanged(known, child)) changed.push(child.name);
      // Perhaps another directory under a known name (rm -rf + mkdir, rename over): examined as new.
      else if (child.fingerprint !== undefined && replaced(known.fingerprint, child.fingerprint, dirIdentity)) {
        changed.push(child.name);
      }
      subdirs.push(child.name);
    } else if (child.kind === 'file' && child.fingerprint !== undefined) {
      if (fileChanged(known, child.fingerprint, child.mtimeMs ?? Math.floor(child.fingerprint.mtimeMs), child.mode)) {
        changed.push(child.name);
      } else if (known.fingerprint === undefined) adopt.push({ name: child.name, fingerprint: child.fingerprint });
    } else if (child.kind === 'symlink' && child.target !== undefined && child.target !== known.target) {
      changed.push(child.name);
    } else if (child.kind === 'symlink' && ownTimeChanged(known, child)) {
      changed.push(child.name);
    }
  }
  for (const name of byName.keys()) changed.push(name);
  return { changed, subdirs, adopt, deferred };
}

function fileChanged(known: IndexedChild, now: Fingerprint, nowMtimeMs: number, mode: number | undefined): boolean {
  if (mode !== undefined && mode !== known.mode) return true;
  return fileMayHaveChanged(
    { size: known.size ?? -1, mtimeMs: known.mtimeMs ?? -1 },
    known.fingerprint,
    now,
    nowMtimeMs,
  );
}

function replaced(known: Fingerprint | undefined, now: Fingerprint, dirIdentity: 'inode' | 'inode-or-ctime'): boolean {
  if (dirIdentity === 'inode-or-ctime') return dirMayBeReplaced(known, now);
  return known !== undefined && known.ino !== now.ino;
}
