// The replica side of `mirrorlog verify`: every entry of the log's state looked up in the
// target (from the root's fd, never following symlinks), then the target walked for what
// the log does not hold.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { floorNsToMs, type MirrorEvent } from '../../schemas/event.ts';
import { hasAttributes, type Attributes } from '../../schemas/entry-attributes.ts';
import { carriedAttributesAt } from '../shared/attribute-io.ts';
import { bytesOfName, nameFromBytes } from '../../schemas/name-bytes.ts';
import { baseName, joinRel, parentOf } from '../../schemas/rel-path.ts';
import { isDirMode, isFileMode, isSymlinkMode, statAt, usingFd } from '../applier/adapters/fs-primitives.ts';
import { TargetRoot, UnsafePathError } from '../applier/adapters/target-root.ts';
import { isTempName } from '../applier/domain/temp-name.ts';
import { fsat } from '../shared/native/fsat.ts';
import type { LogState } from '../shared/log-state.ts';
import { compareEntry, type CompareOptions, type Drift, type Found } from './verify-compare.ts';

/** A symlink's target in the directory `dirFd` holds (/proc/self/fd/N/name: the link itself not followed). */
function readLinkAt(dirFd: number, name: string): string {
  const path = Buffer.concat([Buffer.from(`/proc/self/fd/${dirFd}/`), bytesOfName(name)]);
  return nameFromBytes(fs.readlinkSync(path, { encoding: 'buffer' }));
}

function hashFd(fd: number): string {
  return createHash('sha256').update(fs.readFileSync(fd)).digest('hex');
}

/** What the replica holds at `rel`, reached from the root's fd without following symlinks. */
function inspect(root: TargetRoot, expected: Attributes & { path: string }, withHash: boolean): Found | 'unsafe' {
  const rel = expected.path;
  const name = baseName(rel);
  try {
    return root.withDir(parentOf(rel), false, (dirFd): Found => {
      const found = inspectIn(root, dirFd, rel, withHash);
      if (found === undefined || found.kind === 'other' || !hasAttributes(expected)) return found;
      // /proc/self/fd/N/name: the entry in the directory that fd holds, a symlink itself not followed.
      return { ...found, attributes: carriedAttributesAt(`/proc/self/fd/${dirFd}/${name}`, 0, expected) };
    });
  } catch (error) {
    if (error instanceof UnsafePathError) return 'unsafe';
    throw error;
  }
}

function inspectIn(root: TargetRoot, dirFd: number, rel: string, withHash: boolean): Found {
  const name = baseName(rel);
  const stats = statAt(dirFd, name);
  if (stats === undefined) return undefined;
  const mode = stats.mode & 0o7777;
  if (isFileMode(stats.mode)) {
    const mtimeMs = floorNsToMs(stats.mtimeNs);
    const { uid, gid } = stats;
    const found = {
      kind: 'file' as const,
      size: stats.size,
      mode,
      mtimeMs,
      uid,
      gid,
      mtimeNs: String(stats.mtimeNs),
      ino: stats.ino,
    };
    if (!withHash) return found;
    const fd = root.openFile(rel);
    return fd === undefined ? found : { ...found, hash: usingFd(fd, hashFd) };
  }
  const own = {
    uid: stats.uid,
    gid: stats.gid,
    mtimeMs: floorNsToMs(stats.mtimeNs),
    mtimeNs: String(stats.mtimeNs),
  };
  if (isDirMode(stats.mode)) return { kind: 'dir', mode, ...own };
  if (isSymlinkMode(stats.mode)) return { kind: 'symlink', target: readLinkAt(dirFd, name), ...own };
  return { kind: 'other' };
}

/** Every drift between the log's state and the replica. */
export function compareReplica(
  state: LogState,
  target: string,
  options: CompareOptions & { withHash: boolean },
  onProgress?: (checked: number, total: number) => void,
): ReturnType<typeof compareWith> {
  const root = new TargetRoot(target);
  try {
    return compareWith(root, state, options, onProgress);
  } finally {
    root.close();
  }
}

function compareWith(
  root: TargetRoot,
  state: LogState,
  { withHash, ...options }: CompareOptions & { withHash: boolean },
  onProgress: ((checked: number, total: number) => void) | undefined,
): {
  drifts: Drift[];
  expectedToRewrite: MirrorEvent[];
  extras: string[];
  linkedNames: Map<string, { path: string; names: number }>;
} {
  const drifts: Drift[] = [];
  const expectedToRewrite: MirrorEvent[] = [];
  // Per source inode: its first name the replica holds as it should, that name's inode, and
  // how many names the log gives it (what --repair may find the inode has).
  const linkedNames = new Map<string, { path: string; names: number }>();
  const linkedInodes = new Map<string, bigint>();
  const total = onProgress === undefined ? 0 : state.count();
  let checked = 0;
  for (const expected of state.entries()) {
    if (++checked % 1000 === 0) onProgress?.(checked, total);
    if (expected.op === 'delete') continue;
    const found = inspect(root, expected, withHash && expected.op === 'file');
    const entryDrifts =
      found === 'unsafe'
        ? [{ path: expected.path, problem: 'unsafe-parent' as const, expected: 'directories only above it' }]
        : compareEntry(expected, found, options);
    if (entryDrifts.length === 0 && expected.op === 'file' && expected.link !== undefined && found !== 'unsafe') {
      const ino = found?.kind === 'file' ? found.ino : undefined;
      const first = linkedNames.get(expected.link);
      if (first !== undefined) first.names++;
      if (first === undefined && ino !== undefined) {
        linkedNames.set(expected.link, { path: expected.path, names: 1 });
        linkedInodes.set(expected.link, ino);
      } else if (first !== undefined && ino !== linkedInodes.get(expected.link)) {
        const drift = { path: expected.path, problem: 'link' as const, actual: 'another file' };
        entryDrifts.push({ ...drift, expected: `a hard link of ${first.path}` });
      }
    }
    if (entryDrifts.length > 0) {
      drifts.push(...entryDrifts);
      expectedToRewrite.push(expected);
    }
  }
  const extras: string[] = [];
  const walk = (rel: string) => {
    const entries = root.withDir(rel, false, (dirFd) => fsat.readdir(dirFd)) ?? [];
    for (const entry of entries) {
      const entryName = nameFromBytes(entry.name);
      if (isTempName(entryName)) continue;
      const child = joinRel(rel, entryName);
      const known = state.get(child);
      const isDir = entry.type === fsat.constants.DT_DIR;
      if (known === undefined || known.op === 'delete') {
        extras.push(child);
        drifts.push({ path: child, problem: 'extra', actual: isDir ? 'directory' : 'entry' });
      } else if (isDir && known.op === 'dir') {
        walk(child);
      }
    }
  };
  walk('');
  return { drifts, expectedToRewrite, extras, linkedNames };
}
