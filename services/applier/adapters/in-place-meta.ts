// Setting mode and mtime of a replica file that already holds the right bytes, through
// its own fd and only when changing it in place is safe: a regular file, reached without
// following anything, that no other name links to.
import { constants } from 'node:fs';
import { baseName } from '../../../schemas/rel-path.ts';
import { fsat } from '../../shared/native/fsat.ts';
import { setFileMeta, type FileMeta } from './atomic-write.ts';
import { errno, isFileMode, statAt, statFd, usingFd } from './fs-primitives.ts';

/** set-meta found no regular file it may change in place where the index has one: the replica drifted. */
export class NotAFileError extends Error {
  constructor(
    readonly path: string,
    why = 'is not a regular file on the replica',
  ) {
    super(`${JSON.stringify(path)} ${why}`);
    this.name = 'NotAFileError';
  }
}

/** Opening an existing replica file for its metadata: never followed, never blocking (a fifo planted there). */
const OPEN_EXISTING = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY;

/** Sets the mode and mtime of the file `path` in its parent `dirFd`; throws NotAFileError when it may not. */
export function setMetaInPlace(dirFd: number, path: string, meta: Omit<FileMeta, 'fsync'>): void {
  const name = baseName(path);
  if (!isFileMode(statAt(dirFd, name)?.mode ?? 0)) throw new NotAFileError(path);
  let fd: number;
  try {
    fd = fsat.openat(dirFd, name, OPEN_EXISTING, 0);
  } catch (error) {
    const code = errno(error);
    if (code === 'ENOENT' || code === 'ELOOP') throw new NotAFileError(path);
    if (code !== 'EACCES') throw error;
    fd = fsat.openat(dirFd, name, fsat.constants.O_PATH | constants.O_NOFOLLOW, 0); // not root, mode 0: still ours
  }
  usingFd(fd, () => {
    const stat = statFd(fd);
    if (!isFileMode(stat.mode)) throw new NotAFileError(path);
    // Another name links this inode (perhaps outside the target): rewrite, never touch it.
    if (stat.nlink > 1) throw new NotAFileError(path, 'has other hard links; it is rewritten, not changed in place');
    setFileMeta(fd, meta);
  });
}
