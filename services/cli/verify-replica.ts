// The replica side of `mirrorlog verify`: every entry of the log's state looked up in the
// target (from the root's fd, never following symlinks), then the target walked for what
// the log does not hold.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import type { MirrorEvent } from '../../schemas/event.ts';
import { baseName, joinRel, parentOf } from '../../schemas/rel-path.ts';
import { isDirMode, isFileMode, isSymlinkMode, statAt, usingFd } from '../applier/adapters/fs-primitives.ts';
import { TargetRoot, UnsafePathError } from '../applier/adapters/target-root.ts';
import { isTempName } from '../applier/domain/temp-name.ts';
import { fsat } from '../shared/native/fsat.ts';
import type { LogState } from '../shared/log-state.ts';
import { compareEntry, type Drift, type Found } from './verify-compare.ts';

function hashFd(fd: number): string {
  return createHash('sha256').update(fs.readFileSync(fd)).digest('hex');
}

/** What the replica holds at `rel`, reached from the root's fd without following symlinks. */
function inspect(root: TargetRoot, rel: string, withHash: boolean): Found | 'unsafe' {
  const name = baseName(rel);
  try {
    return root.withDir(parentOf(rel), false, (dirFd): Found => {
      const stats = statAt(dirFd, name);
      if (stats === undefined) return undefined;
      const mode = stats.mode & 0o7777;
      if (isFileMode(stats.mode)) {
        const mtimeMs =
          Number(stats.mtimeNs / 1_000_000n) - (stats.mtimeNs < 0n && stats.mtimeNs % 1_000_000n !== 0n ? 1 : 0);
        const found = { kind: 'file' as const, size: stats.size, mode, mtimeMs };
        if (!withHash) return found;
        const fd = root.openFile(rel);
        return fd === undefined ? found : { ...found, hash: usingFd(fd, hashFd) };
      }
      if (isDirMode(stats.mode)) return { kind: 'dir', mode };
      // /proc/self/fd/N/name: the directory that fd holds, the link itself not followed.
      if (isSymlinkMode(stats.mode))
        return { kind: 'symlink', target: fs.readlinkSync(`/proc/self/fd/${dirFd}/${name}`) };
      return { kind: 'other' };
    });
  } catch (error) {
    if (error instanceof UnsafePathError) return 'unsafe';
    throw error;
  }
}

/** Every drift between the log's state and the replica. */
export function compareReplica(
  state: LogState,
  target: string,
  withHash: boolean,
  allowSetid = false,
  onProgress?: (checked: number, total: number) => void,
): { drifts: Drift[]; expectedToRewrite: MirrorEvent[]; extras: string[] } {
  const root = new TargetRoot(target);
  try {
    return compareWith(root, state, withHash, allowSetid, onProgress);
  } finally {
    root.close();
  }
}

function compareWith(
  root: TargetRoot,
  state: LogState,
  withHash: boolean,
  allowSetid: boolean,
  onProgress: ((checked: number, total: number) => void) | undefined,
): { drifts: Drift[]; expectedToRewrite: MirrorEvent[]; extras: string[] } {
  const drifts: Drift[] = [];
  const expectedToRewrite: MirrorEvent[] = [];
  const total = onProgress === undefined ? 0 : state.count();
  let checked = 0;
  for (const expected of state.entries()) {
    if (++checked % 1000 === 0) onProgress?.(checked, total);
    if (expected.op === 'delete') continue;
    const found = inspect(root, expected.path, withHash && expected.op === 'file');
    const entryDrifts =
      found === 'unsafe'
        ? [{ path: expected.path, problem: 'unsafe-parent' as const, expected: 'directories only above it' }]
        : compareEntry(expected, found, { allowSetid });
    if (entryDrifts.length > 0) {
      drifts.push(...entryDrifts);
      expectedToRewrite.push(expected);
    }
  }
  const extras: string[] = [];
  const walk = (rel: string) => {
    const entries = root.withDir(rel, false, (dirFd) => fsat.readdir(dirFd)) ?? [];
    for (const entry of entries) {
      const entryName = entry.name.toString();
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
  return { drifts, expectedToRewrite, extras };
}
