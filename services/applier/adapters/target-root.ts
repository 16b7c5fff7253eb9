// Path resolution inside the replica. Every path the applier touches comes from a record,
// and anyone who can write into the replica may swap a directory for a symlink at any
// moment, so confinement is by construction (DESIGN rule 5), not by checks:
//  - the target root is opened once (O_PATH|O_DIRECTORY|O_NOFOLLOW) and every directory is
//    reached from that fd: openat2(RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS) in one call, or,
//    where the kernel lacks it, one openat(O_NOFOLLOW|O_DIRECTORY) per component;
//  - the caller gets the directory's fd and works with *at calls on it, so what it
//    operates on is the directory that was resolved, whatever happens to the path after;
//  - nothing is remembered: each operation resolves again (a cached verdict about a path
//    would be exactly what a swap exploits). openat2 walks in the kernel: O(depth) per
//    record, no lstat per component.
import { closeSync, constants, fstatSync, realpathSync } from 'node:fs';
import { fsat } from '../../shared/native/fsat.ts';
import { IMPLICIT_DIR_MODE } from '../domain/plan.ts';
import { errno, isFileMode, statAt, statFd, withWritableDirFd } from './fs-primitives.ts';

/** The path cannot be used without leaving the target or following a symlink. */
export class UnsafePathError extends Error {
  readonly code = 'unsafe-path';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`unsafe path ${JSON.stringify(path)}: ${reason}`);
    this.name = 'UnsafePathError';
  }
}

const { O_PATH, RESOLVE_BENEATH, RESOLVE_NO_SYMLINKS, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_XDEV } = fsat.constants;
/** How every directory of the replica is opened: a handle for *at calls, never followed. */
export const DIR_FLAGS = O_PATH | constants.O_DIRECTORY | constants.O_NOFOLLOW;
const READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;
// NO_XDEV: a directory mounted over inside the replica (a bind mount planted there) shows
// what is outside it; the walk below says so (UnsafePathError) instead of entering it.
const RESOLVE = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;

/** Whether openat2 works here (probed once; seccomp filters in some containers refuse it). */
let openat2Works: boolean | undefined;

export class TargetRoot {
  /** The target's real path: for messages and tests; never used to reach an entry. */
  readonly root: string;
  private fd: number;
  /** The root's mount: every directory reached from it must be on it (0n: the kernel does not say). */
  private readonly mount: bigint;

  constructor(target: string) {
    this.root = realpathSync.native(target);
    this.fd = fsat.openat(-100 /* AT_FDCWD */, this.root, DIR_FLAGS, 0);
    this.mount = statFd(this.fd).mntId;
  }

  /** Absolute path of a relative one ('' is the root), for messages only. */
  abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  /**
   * Runs `fn` with an fd of the directory `rel` ('' is the root), reached from the root
   * without following any symlink; the fd is closed afterwards. A missing directory is
   * created (mode IMPLICIT_DIR_MODE) when `create`, else `fn` is not run and undefined is
   * returned. Throws UnsafePathError when a component is a symlink or not a directory.
   */
  withDir<T>(rel: string, create: boolean, fn: (dirFd: number) => T): T | undefined {
    const fd = this.openDir(rel, create);
    if (fd === undefined) return undefined;
    try {
      return fn(fd);
    } finally {
      closeSync(fd);
    }
  }

  /**
   * How a write on libuv's pool reaches the directory `rel` itself (fsat.writeFileAsync:
   * openat2 from the root with the same flags as openDir); undefined where openat2 is not
   * known to work here (then openDir it).
   */
  resolvedOnPool(rel: string): { dirFd: number; parent: string; resolve: number } | undefined {
    return openat2Works === true ? { dirFd: this.fd, parent: rel, resolve: RESOLVE } : undefined;
  }

  /** The directory `rel` as a new O_PATH fd (the caller closes it); see withDir. */
  openDir(rel: string, create: boolean): number | undefined {
    if (rel === '') return fsat.openat(this.fd, '.', DIR_FLAGS, 0);
    if (openat2Works !== false) {
      try {
        const fd = fsat.openat2(this.fd, rel, DIR_FLAGS, 0, RESOLVE);
        openat2Works = true;
        return fd;
      } catch (error) {
        const code = errno(error);
        if (code === 'ENOSYS' || (code === 'EPERM' && openat2Works === undefined)) openat2Works = false;
        else if (code !== 'ENOENT' && code !== 'ELOOP' && code !== 'ENOTDIR' && code !== 'EXDEV') throw error;
        // Missing or refused: the walk below creates what is missing and says what is wrong.
      }
    }
    return this.walk(rel, create);
  }

  /** One component at a time, each opened O_NOFOLLOW|O_DIRECTORY from the one before. */
  private walk(rel: string, create: boolean): number | undefined {
    let fd = fsat.openat(this.fd, '.', DIR_FLAGS, 0);
    let done = '';
    try {
      for (const segment of rel.split('/')) {
        done = done === '' ? segment : `${done}/${segment}`;
        let next: number;
        try {
          next = fsat.openat(fd, segment, DIR_FLAGS, 0);
        } catch (error) {
          const code = errno(error);
          if (code === 'ENOENT') {
            if (!create) return undefined;
            next = this.makeDir(fd, segment);
          } else if (code === 'ENOTDIR' || code === 'ELOOP') {
            throw new UnsafePathError(rel, `${done} is ${this.describe(fd, segment)}`);
          } else {
            throw error;
          }
        }
        closeSync(fd);
        fd = next;
        const mount = statFd(fd).mntId;
        if (this.mount !== 0n && mount !== 0n && mount !== this.mount)
          throw new UnsafePathError(rel, `${done} is on another mount`);
      }
      const result = fd;
      fd = -1;
      return result;
    } finally {
      if (fd >= 0) closeSync(fd);
    }
  }

  private makeDir(parentFd: number, name: string): number {
    try {
      withWritableDirFd(parentFd, () => fsat.mkdirat(parentFd, name, IMPLICIT_DIR_MODE));
    } catch (error) {
      if (errno(error) !== 'EEXIST') throw error; // made meanwhile: opened (and checked) below
    }
    const fd = fsat.openat(parentFd, name, DIR_FLAGS, 0);
    fsat.fchmod(fd, IMPLICIT_DIR_MODE); // mkdir's mode went through the umask
    return fd;
  }

  private describe(parentFd: number, name: string): string {
    try {
      const { mode } = fsat.stat(parentFd, name, fsat.constants.AT_SYMLINK_NOFOLLOW);
      return (mode & constants.S_IFMT) === constants.S_IFLNK ? 'a symlink' : 'not a directory';
    } catch {
      return 'not a directory';
    }
  }

  /**
   * The regular file `rel` opened read-only (never followed, never blocking), or
   * undefined when there is none to read safely (missing, unsafe parent, not a file).
   * The caller closes the fd.
   */
  openFile(rel: string): number | undefined {
    const slash = rel.lastIndexOf('/');
    const name = rel.slice(slash + 1);
    try {
      return this.withDir(slash < 0 ? '' : rel.slice(0, slash), false, (dirFd) => {
        if (!isFileMode(statAt(dirFd, name)?.mode ?? 0)) return undefined; // a device is never opened
        const fd = fsat.openat(dirFd, name, READ_FLAGS, 0);
        if ((fstatSync(fd).mode & constants.S_IFMT) === constants.S_IFREG) return fd;
        closeSync(fd);
        return undefined;
      });
    } catch (error) {
      if (error instanceof UnsafePathError) return undefined;
      const code = errno(error);
      if (code === 'ENOENT' || code === 'ELOOP' || code === 'EACCES' || code === 'ENXIO') return undefined;
      throw error;
    }
  }

  /** The root's device: staging that shares it can be renamed into the replica. */
  device(): number {
    return fstatSync(this.fd).dev;
  }

  close(): void {
    if (this.fd < 0) return;
    closeSync(this.fd);
    this.fd = -1;
  }
}
