// An atomic write inside one directory fd, context-free: content goes to a temp file
// beside the destination, created O_CREAT|O_EXCL|O_NOFOLLOW (or a staged file is moved
// there), gets its mode and mtime through its fd, then is renamed over whatever is at
// the destination name. A symlink the same way: made under a temp name, renamed over.
import { constants, fsyncSync, openSync, writeSync } from 'node:fs';
import { fsat } from '../../shared/native/fsat.ts';
import { errno, exactNs, removeAt, statFd, usingFd } from './fs-primitives.ts';
import type { Ownership } from '../domain/owner-policy.ts';
import type { Content } from './verified-content.ts';

const CREATE_TEMP = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export interface FileMeta {
  readonly mode: number;
  readonly mtimeMs: number;
  /** The exact mtime (decimal nanoseconds), when known. */
  readonly mtimeNs?: string | undefined;
  /** The replica's ids to give it (-1: unchanged); undefined: the applier's own. */
  readonly ownership: Ownership | undefined;
  /** durability=fsync: fsync the file before its rename. */
  readonly fsync: boolean;
  /** Sets the file's extended attributes and ACLs through its fd (after its owner and mode). */
  readonly attributes?: (fd: number) => void;
}

/** Writes `content` as `name` in `dirFd` through the temp file `temp`; on failure `temp` is gone again. */
export function writeAtomically(dirFd: number, temp: string, name: string, content: Content, meta: FileMeta): void {
  let created = false;
  let moved = false;
  try {
    if (content.kind === 'buffer') {
      const fd = fsat.openat(dirFd, temp, CREATE_TEMP, 0o600);
      created = true;
      usingFd(fd, () => {
        for (let offset = 0; offset < content.data.length;)
          offset += writeSync(fd, content.data, offset, content.data.length - offset);
        finishFile(fd, meta);
      });
    } else {
      // The staged file lives in the applier's own directory: opened there, then moved
      // (or copied) into place; its metadata is set through that fd, not by name.
      const staged = openSync(content.path, constants.O_RDWR | constants.O_NOFOLLOW);
      usingFd(staged, () => {
        if (!content.shared) moved = moveStaged(content.path, dirFd, temp);
        if (moved) return finishFile(staged, meta);
        const fd = fsat.openat(dirFd, temp, CREATE_TEMP, 0o600);
        created = true;
        usingFd(fd, () => {
          fsat.copyFileRange(staged, fd, statFd(staged).size);
          finishFile(fd, meta);
        });
      });
    }
    renameIntoPlace(dirFd, temp, name);
  } catch (error) {
    // A staged file goes back where it was, so a retry finds the content again.
    if (moved) fsat.renameat(dirFd, temp, -100, (content as { path: string }).path, 0);
    else if (created) removeAt(dirFd, temp);
    throw error;
  }
}

/** Where a write on libuv's pool goes: `parent` opened from `dirFd` with `resolve` ('': `dirFd` itself). */
export type PoolDir = { dirFd: number; parent: string; resolve: number };

/**
 * writeAtomically of bytes in memory, on libuv's pool (fsat.writeFileAsync); not for a
 * file with attributes to set (`meta.attributes`). `dir.dirFd` stays open until it settles.
 */
export function writeAtomicallyInFlight(
  dir: PoolDir,
  temp: string,
  name: string,
  data: Buffer,
  meta: FileMeta,
): Promise<void> {
  const ns = exactNs(meta.mtimeMs, meta.mtimeNs);
  const { uid, gid } = meta.ownership ?? { uid: -1, gid: -1 };
  const { dirFd, parent, resolve } = dir;
  return fsat.writeFileAsync(dirFd, parent, resolve, temp, name, data, meta.mode, uid, gid, ns, meta.fsync ? 1 : 0);
}

/** Moves the staged file to `temp` when both are on one filesystem; false (nothing done) otherwise. */
function moveStaged(stagedPath: string, dirFd: number, temp: string): boolean {
  try {
    fsat.renameat(-100, stagedPath, dirFd, temp, fsat.constants.RENAME_NOREPLACE);
    return true;
  } catch (error) {
    if (errno(error) === 'EXDEV') return false;
    throw error;
  }
}

function finishFile(fd: number, meta: FileMeta): void {
  setFileMeta(fd, meta); // after the write: a write by a non-root owner clears setuid
  if (meta.fsync) fsyncSync(fd);
}

export function setFileMeta(fd: number, meta: Omit<FileMeta, 'fsync'>): void {
  // chown first: it clears setuid/setgid, which the chmod then sets as asked.
  if (meta.ownership !== undefined) fsat.fchown(fd, meta.ownership.uid, meta.ownership.gid);
  fsat.fchmod(fd, meta.mode);
  meta.attributes?.(fd);
  const ns = exactNs(meta.mtimeMs, meta.mtimeNs);
  fsat.futimens(fd, ns, ns);
}

/** A symlink itself, to chown it and set its attributes. */
const LINK_FLAGS = fsat.constants.O_PATH | constants.O_NOFOLLOW;

/** What a symlink gets beside its target: each part undefined is left as symlinkat makes it. */
export interface LinkMeta {
  readonly target: string;
  readonly ownership: Ownership | undefined;
  readonly mtimeMs: number | undefined;
  readonly mtimeNs?: string | undefined;
  readonly attributes: ((fd: number) => void) | undefined;
}

/** Makes `name` in `dirFd` a symlink through the temp name `temp`; on failure `temp` is gone again. */
export function symlinkAtomically(dirFd: number, temp: string, name: string, link: LinkMeta): void {
  const { ownership, attributes, mtimeMs } = link;
  fsat.symlinkat(link.target, dirFd, temp);
  try {
    // The link itself (fchown of an O_PATH fd acts on what it names, never followed).
    if (ownership !== undefined || attributes !== undefined) {
      usingFd(fsat.openat(dirFd, temp, LINK_FLAGS, 0), (fd) => {
        if (ownership !== undefined) fsat.fchown(fd, ownership.uid, ownership.gid);
        attributes?.(fd);
      });
    }
    // The rename keeps the link's own times (it changes only its ctime).
    if (mtimeMs !== undefined) {
      const ns = exactNs(mtimeMs, link.mtimeNs);
      fsat.utimensat(dirFd, temp, ns, ns, fsat.constants.AT_SYMLINK_NOFOLLOW);
    }
    renameIntoPlace(dirFd, temp, name);
  } catch (error) {
    removeAt(dirFd, temp);
    throw error;
  }
}

/** rename() replaces a file or symlink atomically; a directory in the way is removed first. */
export function renameIntoPlace(dirFd: number, temp: string, name: string): void {
  try {
    fsat.renameat(dirFd, temp, dirFd, name, 0);
  } catch (error) {
    const code = errno(error);
    if (code !== 'EISDIR' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
    removeAt(dirFd, name);
    fsat.renameat(dirFd, temp, dirFd, name, 0);
  }
}
