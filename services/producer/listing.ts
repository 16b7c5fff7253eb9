// A directory's children with what lstat and readlink say of each: what a comparison with
// the index needs (domain/dir-compare.ts). Shared by the reconcile walk and the examiner.
import { joinRel } from '../../schemas/rel-path.ts';
import type { ListedChild } from './domain/dir-compare.ts';
import type { Excluder } from './domain/exclude.ts';
import type { ListedName, SourceTree } from './ports/source-tree.ts';

/**
 * Children that cannot be stat'ed (EACCES) are left out: compared with the index they
 * look vanished, so they are examined, and the examination counts and skips them.
 */
export function statChildren(
  tree: SourceTree,
  dir: string,
  entries: readonly ListedName[],
  isExcluded: Excluder,
): ListedChild[] {
  const listed: ListedChild[] = [];
  for (const { name, kind } of entries) {
    const child = joinRel(dir, name);
    if (isExcluded(child, kind === 'dir')) continue;
    if (kind === 'symlink') {
      const link = tree.readlink(child);
      const found = tree.lstat(child);
      const owner = found.kind === 'symlink' ? found.owner : undefined;
      listed.push({ name, kind, target: link.status === 'ok' ? link.target : '', ...(owner ? { owner } : {}) });
      continue;
    }
    if (kind === 'special') {
      listed.push({ name, kind });
      continue;
    }
    const found = tree.lstat(child);
    const owned = 'owner' in found && found.owner !== undefined ? { owner: found.owner } : {};
    if (found.kind === 'file') {
      const { mode, fingerprint, mtimeMs } = found;
      listed.push({ name, kind: 'file', mode, fingerprint, mtimeMs, ...owned });
    } else if (found.kind === 'dir') {
      listed.push({ name, kind: 'dir', mode: found.mode, fingerprint: found.fingerprint, ...owned });
    } else if (found.kind === 'symlink' || found.kind === 'special') {
      listed.push({ name, kind: found.kind });
    }
  }
  return listed;
}
