// Loader and types for the `fsat` native target (native/fsat/fsat.c): file operations
// relative to a directory fd, which Node's fs does not offer. Built by `npm install`
// (`node-gyp rebuild -C native`). Thin on purpose: each function is one syscall; the
// policy (which flags, what an error means) lives in the callers. A name given as text
// reaches the kernel as the bytes it stands for (schemas/name-bytes.ts), so every caller
// resolves escaped names alike.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { bytesOfName, hasEscapedBytes } from '../../../schemas/name-bytes.ts';

/** What statx(2) says about an entry (times as integer nanoseconds). */
export interface FsatStat {
  readonly mode: number;
  readonly nlink: number;
  readonly uid: number;
  readonly gid: number;
  readonly size: number;
  readonly dev: number;
  readonly ino: bigint;
  /** The mount the entry is on (0 if the kernel does not say): removal never crosses one. */
  readonly mntId: bigint;
  readonly atimeNs: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
}

export interface FsatDirent {
  readonly name: Buffer;
  /** d_type (DT_DIR, DT_REG, DT_LNK...; DT_UNKNOWN when the filesystem does not say). */
  readonly type: number;
}

/** A name: one path component (or, for openat2, a relative path); text in canonical form, or any bytes. */
export type FsatName = string | Buffer;

export interface Fsat {
  openat(dirfd: number, name: FsatName, flags: number, mode: number): number;
  /** openat2(2); throws ENOSYS (or EPERM under some seccomp filters) where the kernel lacks it. */
  openat2(dirfd: number, path: FsatName, flags: number, mode: number, resolve: number): number;
  mkdirat(dirfd: number, name: FsatName, mode: number): void;
  unlinkat(dirfd: number, name: FsatName, flags: number): void;
  /** renameat2(2); flags 0 is plain renameat. */
  renameat(oldDirfd: number, oldName: FsatName, newDirfd: number, newName: FsatName, flags: number): void;
  symlinkat(target: FsatName, dirfd: number, name: FsatName): void;
  linkat(oldDirfd: number, oldName: FsatName, newDirfd: number, newName: FsatName, flags: number): void;
  /** statx(2) of `name` in `dirfd`; '' with AT_EMPTY_PATH is the fd itself. */
  stat(dirfd: number, name: FsatName, flags: number): FsatStat;
  /** fchmod(2); also for O_PATH fds (through /proc/self/fd/N, which names exactly that inode). */
  fchmod(fd: number, mode: number): void;
  fchown(fd: number, uid: number, gid: number): void;
  /** futimens(2) with nanosecond times; also for O_PATH fds. */
  futimens(fd: number, atimeNs: bigint, mtimeNs: bigint): void;
  utimensat(dirfd: number, name: FsatName, atimeNs: bigint, mtimeNs: bigint, flags: number): void;
  /** The entries of the directory `dirfd` (which may be an O_PATH fd), without '.' and '..'. */
  readdir(dirfd: number): FsatDirent[];
  /** Copies up to `length` bytes from the current offset of `fdIn` to `fdOut`; returns how many. */
  copyFileRange(fdIn: number, fdOut: number, length: number): number;
  /**
   * Every extended attribute of `path` the caller may list, as [name, value]. `follow` 0
   * reads a final symlink itself; 1 follows it (for /proc/self/fd/N, which leads to the fd's inode).
   */
  xattrs(path: FsatName, follow: 0 | 1): [Buffer, Buffer][];
  setxattr(path: FsatName, name: string, value: Buffer, follow: 0 | 1): void;
  removexattr(path: FsatName, name: string, follow: 0 | 1): void;
  /**
   * On libuv's pool: opens `parent` from `dirfd` by openat2 with `resolve` ('' : `dirfd`
   * itself), creates `temp` there (O_EXCL, O_NOFOLLOW), writes `data`, gives it `uid`/`gid`
   * (-1 both: unchanged), `mode` and `mtimeNs` (as atime too), fsyncs it if `fsync` is 1,
   * and renames it over `name`. On failure the temp is gone and the promise rejects with
   * the failing call's error.
   */
  writeFileAsync(
    dirfd: number,
    parent: FsatName,
    resolve: number,
    temp: FsatName,
    name: FsatName,
    data: Buffer,
    mode: number,
    uid: number,
    gid: number,
    mtimeNs: bigint,
    fsync: 0 | 1,
  ): Promise<void>;
  readonly constants: {
    readonly O_PATH: number;
    readonly O_TMPFILE: number;
    readonly AT_EMPTY_PATH: number;
    readonly AT_REMOVEDIR: number;
    readonly AT_SYMLINK_NOFOLLOW: number;
    readonly AT_SYMLINK_FOLLOW: number;
    readonly RENAME_NOREPLACE: number;
    readonly RESOLVE_NO_XDEV: number;
    readonly RESOLVE_NO_MAGICLINKS: number;
    readonly RESOLVE_NO_SYMLINKS: number;
    readonly RESOLVE_BENEATH: number;
    readonly DT_DIR: number;
    readonly DT_LNK: number;
    readonly DT_REG: number;
    readonly DT_UNKNOWN: number;
  };
}

// From services/shared/native/ in the repo, or dist/services/shared/native/ once built.
const CANDIDATES = ['../../../native/build/Release/fsat.node', '../../../../native/build/Release/fsat.node'];

function load(): Fsat {
  const require = createRequire(import.meta.url);
  const found = CANDIDATES.map((relative) => new URL(relative, import.meta.url).pathname).find((path) =>
    existsSync(path),
  );
  if (found === undefined) {
    throw new Error('the fsat native module is not built: run `npm install` (it runs `node-gyp rebuild -C native`)');
  }
  return withByteNames(require(found) as Fsat);
}

function kernelName(arg: unknown): unknown {
  return typeof arg === 'string' && hasEscapedBytes(arg) ? bytesOfName(arg) : arg;
}

/** The addon with every text argument given to the kernel as the bytes it stands for. */
function withByteNames(native: Fsat): Fsat {
  const wrapped: Record<string, unknown> = { constants: native.constants };
  for (const [key, value] of Object.entries(native)) {
    if (typeof value !== 'function') continue;
    const call = value as (...args: unknown[]) => unknown;
    wrapped[key] = (...args: unknown[]) => call(...args.map(kernelName));
  }
  return wrapped as unknown as Fsat;
}

/** The addon, loaded once; a missing build is one clear error saying how to build it. */
export const fsat: Fsat = load();
