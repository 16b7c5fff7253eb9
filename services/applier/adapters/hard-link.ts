// A hard link on the replica where the source has one: the new name is linked under a temp
// name beside it and renamed into place, as writes are (atomic-write.ts). The inode linked
// must be what the index says: a regular file of the event's size, with no more names than
// the log gives it, so a link planted from outside the target is never given another name.
import { fsat } from '../../shared/native/fsat.ts';
import { renameIntoPlace } from './atomic-write.ts';
import { errno, isFileMode, removeAt, statAt } from './fs-primitives.ts';

/** The link cannot be made; the caller writes the content instead. */
export class LinkSourceError extends Error {
  constructor(
    readonly from: string,
    why: string,
  ) {
    super(`${JSON.stringify(from)} ${why}`);
    this.name = 'LinkSourceError';
  }
}

/** linkat errors that mean "not here": another filesystem below the target, too many links, none at all. */
const CANNOT_LINK = new Set(['EXDEV', 'EMLINK', 'EPERM', 'ENOENT']);

/** Links `fromName` in `fromFd` as `name` in `dirFd`, through `temp`; returns true or throws. */
export function linkInto(
  fromFd: number,
  fromName: string,
  dirFd: number,
  temp: string,
  name: string,
  expected: { from: string; size: number; names: number },
): true {
  const { from, size, names } = expected;
  const stat = statAt(fromFd, fromName);
  if (stat === undefined || !isFileMode(stat.mode)) throw new LinkSourceError(from, 'is not a file on the replica');
  if (stat.size !== size) throw new LinkSourceError(from, `holds ${stat.size} bytes, not ${size}`);
  if (stat.nlink > names) throw new LinkSourceError(from, `has ${stat.nlink} names, more than the log gives it`);
  try {
    fsat.linkat(fromFd, fromName, dirFd, temp, 0);
  } catch (error) {
    const code = errno(error) ?? '';
    if (!CANNOT_LINK.has(code)) throw error;
    throw new LinkSourceError(from, `cannot be linked (${code})`);
  }
  try {
    renameIntoPlace(dirFd, temp, name);
  } finally {
    // Renaming a name onto another name of the same inode does nothing: the temp stays.
    removeAt(dirFd, temp);
  }
  return true;
}
