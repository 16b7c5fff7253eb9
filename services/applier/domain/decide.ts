// The applier's last-writer-wins decision for one event. Pure: it reads the applied
// index through `ReplicaView` and returns the steps to carry out, in order.
//
// Partitions are consumed concurrently, so events of different paths arrive in any
// order; events of one path arrive in seq order, possibly redelivered. The rules
// (DESIGN.md "Convergence rules"), as implemented and proven by test/model:
//  1. An event is skipped if the path's applied seq is >= its seq.
//  2. A file/symlink replacing a directory removes the directory's subtree when every
//     entry below has a lower seq; otherwise the event is superseded and skipped.
//  3. An entry below an ancestor that is not a directory replaces that ancestor (by a
//     directory that exists only to hold entries) when the ancestor's seq is lower,
//     else the event is skipped. Refinement: an ancestor that is absent because of a
//     delete with a seq >= the event's also skips it — the event is older than the
//     ancestor's delete, so the source no longer holds it; without this, a lagging
//     partition would briefly resurrect entries of a deleted directory.
//  4. A directory delete removes the subtree only when nothing below has a higher seq;
//     otherwise the directory stays, demoted to one that exists only to hold entries.
//     Such directories are removed as soon as they become empty (cascading upwards).
//  Only entries that assert their own existence (files, symlinks, directories whose
//  latest applied event is a `dir`) count for "a higher seq below".
import { sameOwner, type DeleteEvent, type MirrorEvent, type Owner } from '../../../schemas/event.ts';
import { attributesIn, sameAttributes, type Attributes } from '../../../schemas/entry-attributes.ts';
import { ancestorsOf, type RelPath } from '../../../schemas/rel-path.ts';
import type { AppliedEntry, Decision, ReplicaView, Step } from './plan.ts';

export function decide(event: MirrorEvent, view: ReplicaView): Decision {
  const current = view.get(event.path);
  if (current !== undefined && current.seq >= event.seq) return { kind: 'skip', reason: 'already-applied', steps: [] };
  if (event.op === 'delete') return decideDelete(event, current, view);

  const ancestors = ancestorsOf(event.path) as RelPath[];
  const blocked = blockingAncestor(ancestors, event.seq, view);
  if (blocked !== undefined) return { kind: 'skip', reason: blocked, steps: [] };

  const steps: Step[] = makeAncestorsDirectories(ancestors, view);
  const { path } = event;
  const owned: { owner?: Owner; mtimeNs?: string } & Attributes = {
    ...(event.owner === undefined ? {} : { owner: event.owner }),
    ...(event.mtimeNs === undefined ? {} : { mtimeNs: event.mtimeNs }),
    ...attributesIn(event),
  };

  switch (event.op) {
    case 'dir': {
      const meta = { ...owned, ...timed(event.mtimeMs) };
      if (current?.kind === 'dir') {
        const same =
          current.mode === event.mode && current.mtimeMs === event.mtimeMs && current.mtimeNs === event.mtimeNs;
        if (!same || !sameOwner(current.owner, event.owner) || !sameAttributes(current, event))
          steps.push({ op: 'dir-meta', path, mode: event.mode, ...meta });
      } else {
        if (current?.kind === 'file' || current?.kind === 'symlink') steps.push({ op: 'unlink', path });
        steps.push({ op: 'mkdir', path, mode: event.mode, ...meta });
      }
      const entry = { kind: 'dir' as const, seq: event.seq, mode: event.mode, explicit: true, ...meta };
      steps.push({ op: 'record', path, entry });
      return { kind: 'apply', steps };
    }
    case 'file':
    case 'symlink': {
      if (current?.kind === 'dir') {
        if (view.maxSeqBelow(path) > event.seq) return { kind: 'skip', reason: 'newer-entries-below', steps: [] };
        steps.push({ op: 'remove-tree', path }, { op: 'forget-below', path });
      }
      if (event.op === 'symlink') {
        const meta = { ...owned, ...timed(event.mtimeMs) };
        steps.push({ op: 'symlink', path, target: event.target, ...meta });
        steps.push({ op: 'record', path, entry: { kind: 'symlink', seq: event.seq, target: event.target, ...meta } });
        return { kind: 'apply', steps };
      }
      const { hash, size, mode, mtimeMs, link } = event;
      const entry = { kind: 'file' as const, seq: event.seq, hash, size, mode, mtimeMs, ...owned };
      const linked = link === undefined ? entry : { ...entry, link };
      const peers = link === undefined ? [] : view.linkPeers(link).filter((peer) => peer.path !== path);
      const peer = peers.find((candidate) => sameFile(candidate.entry, linked));
      const write: Step = { op: 'write', path, hash, size, mode, mtimeMs, ...owned };
      if (current?.kind === 'file' && current.hash === hash && current.size === size) {
        if (!sameFile(current, linked)) {
          // Another name of the inode holds all of it: be that inode again. Metadata is never set
          // in place on an inode other names share (the replica's copy is rewritten instead).
          if (peer !== undefined) steps.push({ op: 'link', path, from: peer.path, size, names: peers.length + 1 });
          else steps.push(link === undefined ? { op: 'set-meta', path, mode, mtimeMs, ...owned } : write);
        }
      } else if (peer !== undefined) {
        steps.push({ op: 'link', path, from: peer.path, size, names: peers.length });
      } else {
        steps.push(write);
      }
      steps.push({ op: 'record', path, entry: linked });
      return { kind: 'apply', steps };
    }
    default: {
      const unknown: never = event;
      throw new TypeError(`unknown event ${JSON.stringify(unknown)}`);
    }
  }
}

/** Whether a recorded entry is a file in exactly this state (what a hard link to it would be). */
function sameFile(entry: AppliedEntry, file: Extract<AppliedEntry, { kind: 'file' }>): boolean {
  return (
    entry.kind === 'file' &&
    entry.hash === file.hash &&
    entry.size === file.size &&
    entry.mode === file.mode &&
    entry.mtimeMs === file.mtimeMs &&
    entry.mtimeNs === file.mtimeNs &&
    entry.link === file.link &&
    sameOwner(entry.owner, file.owner) &&
    sameAttributes(entry, file)
  );
}

function timed(mtimeMs: number | undefined): { mtimeMs?: number } {
  return mtimeMs === undefined ? {} : { mtimeMs };
}

/** Rule 3's skip conditions, checked before any step is planned. */
function blockingAncestor(
  ancestors: RelPath[],
  seq: number,
  view: ReplicaView,
): 'newer-ancestor' | 'ancestor-deleted-later' | undefined {
  for (const ancestor of ancestors) {
    const entry = view.get(ancestor);
    if (entry === undefined || entry.kind === 'dir') continue;
    if (entry.seq >= seq) return entry.kind === 'absent' ? 'ancestor-deleted-later' : 'newer-ancestor';
  }
  return undefined;
}

/** Rule 3's replacement: every ancestor that is not a directory becomes one that holds entries. */
function makeAncestorsDirectories(ancestors: RelPath[], view: ReplicaView): Step[] {
  const steps: Step[] = [];
  for (const ancestor of ancestors) {
    const entry = view.get(ancestor);
    if (entry?.kind === 'dir') continue;
    if (entry?.kind === 'file' || entry?.kind === 'symlink') steps.push({ op: 'unlink', path: ancestor });
    steps.push({ op: 'mkdir', path: ancestor, mode: null });
    // The replaced entry's seq stays, so its own stale events are still recognised.
    steps.push({
      op: 'record',
      path: ancestor,
      entry: { kind: 'dir', seq: entry?.seq ?? 0, mode: null, explicit: false },
    });
  }
  return steps;
}

function decideDelete(event: DeleteEvent, current: AppliedEntry | undefined, view: ReplicaView): Decision {
  const { path, seq } = event;
  const tombstone: Step = { op: 'record', path, entry: { kind: 'absent', seq } };
  if (current === undefined || current.kind === 'absent') return { kind: 'apply', steps: [tombstone] };
  if (current.kind === 'dir') {
    if (view.maxSeqBelow(path) > seq) {
      const demoted = { ...current, seq, explicit: false };
      return { kind: 'apply', steps: [{ op: 'record', path, entry: demoted }] };
    }
    return {
      kind: 'apply',
      steps: [{ op: 'remove-tree', path }, { op: 'forget-below', path }, tombstone, ...pruneEmptyAncestors(path, view)],
    };
  }
  return { kind: 'apply', steps: [{ op: 'unlink', path }, tombstone, ...pruneEmptyAncestors(path, view)] };
}

/**
 * After `removed` goes, its ancestors that only held entries and are now empty go too,
 * innermost first. Their own seq is kept as a tombstone.
 */
function pruneEmptyAncestors(removed: RelPath, view: ReplicaView): Step[] {
  const steps: Step[] = [];
  const ancestors = ancestorsOf(removed) as RelPath[];
  for (let i = ancestors.length - 1; i >= 0; i--) {
    const ancestor = ancestors[i]!;
    const entry = view.get(ancestor);
    // Exactly one child left means the one being removed (or the ancestor removed just before).
    if (entry?.kind !== 'dir' || entry.explicit || view.childCount(ancestor) !== 1) break;
    steps.push(
      { op: 'rmdir', path: ancestor },
      { op: 'record', path: ancestor, entry: { kind: 'absent', seq: entry.seq } },
    );
  }
  return steps;
}
