// The reconcile's listing of a directory through the native addon: names and every
// child's lstat in one call (fstatat relative to the directory), instead of a readdir,
// a path join and an fs.Stats object per child. Same result as listDir + probe.
import { MODE_MASK } from '../../../schemas/event.ts';
import { loadWatchNative, type WatchNative } from '../../shared/native/watch.ts';
import type { ListedChild } from '../domain/dir-compare.ts';
import { readLinkTarget } from './source-fs.ts';

const FIELDS = 6;
const KINDS = [undefined, 'file', 'dir', 'symlink', 'special'] as const;

export function createNativeScan(native: WatchNative): (abs: string) => ListedChild[] | undefined {
  return (abs) => {
    const scanned = native.scanDirectory(Buffer.from(abs));
    if (scanned === null) return undefined;
    const names = scanned.names.length === 0 ? [] : scanned.names.toString('utf8', 0, scanned.names.length - 1).split('\0');
    const { stats } = scanned;
    const listed: ListedChild[] = [];
    for (let i = 0; i < names.length; i++) {
      const at = i * FIELDS;
      const kind = KINDS[stats[at]!];
      const name = names[i]!;
      if (kind === undefined) continue; // gone since the listing
      if (kind === 'file') {
        listed.push({ name, kind, mode: stats[at + 1]! & MODE_MASK, fingerprint: { ino: stats[at + 5]!, size: stats[at + 2]!, mtimeMs: stats[at + 3]!, ctimeMs: stats[at + 4]! } });
      } else if (kind === 'dir') {
        listed.push({ name, kind, mode: stats[at + 1]! & MODE_MASK });
      } else if (kind === 'symlink') {
        listed.push({ name, kind, target: readLinkTarget(`${abs}/${name}`) ?? '' });
      } else {
        listed.push({ name, kind });
      }
    }
    return listed;
  };
}

/** The native scan when the addon is built; undefined (listDir + probe) otherwise. */
export function loadNativeScan(): ((abs: string) => ListedChild[] | undefined) | undefined {
  try {
    return createNativeScan(loadWatchNative());
  } catch {
    return undefined;
  }
}
