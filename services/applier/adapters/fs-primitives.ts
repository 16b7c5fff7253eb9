// Small fd-relative helpers the materializer is built on (fsat: openat & co.): error
// codes, a stat that says "nothing there", lending a read-only directory the permission
// for one operation, removing whatever is at a name without following anything (whole
// trees walked by fd, never across a symlink or a mount), fsync of a directory, and the
// random part of temp names.
import { randomFillSync } from 'node:crypto';
import { closeSync, constants, fsyncSync } from 'node:fs';
import { fsat, type FsatName, type FsatStat } from '../../shared/native/fsat.ts';

const { AT_EMPTY_PATH, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW, O_PATH, DT_DIR, DT_UNKNOWN } = fsat.constants;
const SUBDIR_FLAGS = O_PATH | constants.O_DIRECTORY | constants.O_NOFOLLOW;

export function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

export function isDirMode(mode: number): boolean {
  return (mode & constants.S_IFMT) === constants.S_IFDIR;
}

export function isFileMode(mode: number): boolean {
  return (mode & constants.S_IFMT) === constants.S_IFREG;
}

export function isSymlinkMode(mode: number): boolean {
  return (mode & constants.S_IFMT) === constants.S_IFLNK;
}

/** statx of `name` in `dirFd`, not following it; undefined when nothing is there. */
export function statAt(dirFd: number, name: FsatName): FsatStat | undefined {
  try {
    return fsat.stat(dirFd, name, AT_SYMLINK_NOFOLLOW);
  } catch (error) {
    if (errno(error) === 'ENOENT') return undefined;
    throw error;
  }
}

export function statFd(fd: number): FsatStat {
  return fsat.stat(fd, '', AT_EMPTY_PATH);
}

/** mtime in integer nanoseconds from milliseconds (exact: no float seconds in between). */
export function msToNs(ms: number): bigint {
  return BigInt(ms) * 1_000_000n;
}

/** The time to set: the exact nanoseconds when the event carried them, else its whole ms. */
export function exactNs(mtimeMs: number, mtimeNs: string | undefined): bigint {
  return mtimeNs === undefined ? msToNs(mtimeMs) : BigInt(mtimeNs);
}

/**
 * Directories of the replica keep the source's modes, so a read-only one (0555) refuses
 * the entries it must hold when the applier is not root (the container runs as `node`).
 * The applier owns every directory it created: on EACCES it lends itself u+wx for `op`,
 * through the directory's own fd, and puts the mode back.
 */
export function withWritableDirFd<T>(dirFd: number, op: () => T): T {
  try {
    return op();
  } catch (error) {
    if (errno(error) !== 'EACCES') throw error;
    const { mode } = statFd(dirFd);
    if ((mode & 0o300) === 0o300) throw error;
    fsat.fchmod(dirFd, (mode & 0o7777) | 0o300);
    try {
      return op();
    } finally {
      fsat.fchmod(dirFd, mode & 0o7777);
    }
  }
}

/** A directory met during a removal is on another mount (a bind mount planted in the replica?). */
export class MountCrossingError extends Error {
  readonly code = 'mount-crossing';
  constructor(name: string) {
    super(`refusing to remove ${JSON.stringify(name)}: it is on another mount`);
    this.name = 'MountCrossingError';
  }
}

/**
 * Removes whatever is at `name` in `dirFd`: a file or symlink is unlinked, a directory
 * is emptied through its own fd (never across a symlink: every level is opened
 * O_NOFOLLOW; never across a mount: each directory must be on the mount of the one
 * that holds it), then removed. Returns whether something was there.
 */
export function removeAt(dirFd: number, name: FsatName, parentMount?: bigint): boolean {
  const stat = statAt(dirFd, name);
  if (stat === undefined) return false;
  const mount = parentMount ?? statFd(dirFd).mntId;
  if (!isDirMode(stat.mode)) {
    unlinkQuietly(dirFd, name, 0);
    return true;
  }
  // Bounded: someone adding entries as fast as they are removed ends in ENOTEMPTY.
  for (let attempt = 0; ; attempt++) {
    emptyDirectory(dirFd, name, mount);
    try {
      withWritableDirFd(dirFd, () => fsat.unlinkat(dirFd, name, AT_REMOVEDIR));
      return true;
    } catch (error) {
      const code = errno(error);
      if (code === 'ENOENT') return true;
      if (code === 'ENOTDIR') return removeAt(dirFd, name, mount); // swapped for a file meanwhile
      if (code !== 'ENOTEMPTY' || attempt >= 3) throw error;
    }
  }
}

function emptyDirectory(dirFd: number, name: FsatName, mount: bigint): void {
  let fd: number;
  try {
    fd = fsat.openat(dirFd, name, SUBDIR_FLAGS, 0);
  } catch (error) {
    const code = errno(error);
    if (code === 'ENOENT') return;
    // Swapped for a symlink or a file since the stat: that is removed, never followed.
    if (code === 'ENOTDIR' || code === 'ELOOP') return unlinkQuietly(dirFd, name, 0);
    throw error;
  }
  try {
    const stat = statFd(fd);
    if (mount !== 0n && stat.mntId !== 0n && stat.mntId !== mount) throw new MountCrossingError(String(name));
    // Not root: a directory that does not let its owner list or change it gets u+rwx (it is going away).
    if ((stat.mode & 0o700) !== 0o700 && process.getuid?.() !== 0) fsat.fchmod(fd, (stat.mode & 0o7777) | 0o700);
    for (const entry of fsat.readdir(fd)) {
      if (entry.type === DT_DIR || entry.type === DT_UNKNOWN) removeAt(fd, entry.name, stat.mntId);
      else unlinkQuietly(fd, entry.name, 0, stat.mntId);
    }
  } finally {
    closeSync(fd);
  }
}

function unlinkQuietly(dirFd: number, name: FsatName, flags: number, mount?: bigint): void {
  try {
    withWritableDirFd(dirFd, () => fsat.unlinkat(dirFd, name, flags));
  } catch (error) {
    const code = errno(error);
    if (code === 'ENOENT') return;
    // A directory took the place of what readdir saw: remove it as one.
    if (code === 'EISDIR' || code === 'EPERM') {
      if (isDirMode(statAt(dirFd, name)?.mode ?? 0)) {
        removeAt(dirFd, name, mount);
        return;
      }
    }
    throw error;
  }
}

/** fsync(2) of the directory `dirFd` holds (an O_PATH fd cannot be synced: '.' is reopened). */
export function fsyncDirFd(dirFd: number): void {
  const fd = fsat.openat(dirFd, '.', constants.O_RDONLY | constants.O_DIRECTORY, 0);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Runs `fn` with `fd`, then closes it. */
export function usingFd<T>(fd: number, fn: (fd: number) => T): T {
  try {
    return fn(fd);
  } finally {
    closeSync(fd);
  }
}

/** Random bits for temp names, drawn 4 KiB at a time (one randomBytes call per file cost more than the write). */
const randomPool = { bytes: Buffer.alloc(4096), used: 4096 };
export function randomSuffix(): string {
  if (randomPool.used === randomPool.bytes.length) {
    randomFillSync(randomPool.bytes);
    randomPool.used = 0;
  }
  const suffix = randomPool.bytes.readBigUInt64BE(randomPool.used).toString(36);
  randomPool.used += 8;
  return suffix;
}
