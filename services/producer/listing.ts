// A directory's children with what lstat and readlink say of each: what a comparison with
// the index needs (domain/dir-compare.ts). Shared by the reconcile walk and the examiner.
import { joinRel } from '../../schemas/rel-path.ts';
import type { ListedChild } from './domain/dir-compare.ts';
import type { Excluder } from './domain/exclude.ts';
import type { AttributeScope } from '../shared/attributes.ts';
import type { ListedName, SourceTree } from './ports/source-tree.ts';

function dropUndefined(child: ListedChild): ListedChild {
  for (const key of Object.keys(child) as (keyof ListedChild)[]) if (child[key] === undefined) delete child[key];
  return child;
}

/**
 * Children that cannot be stat'ed (EACCES) are left out: compared with the index they
 * look vanished, so they are examined, and the examination counts and skips them.
 */
export function statChildren(
  tree: SourceTree,
  dir: string,
  entries: readonly ListedName[],
  isExcluded: Excluder,
  /** Which attributes to read of each child (none: undefined). */
  attributes?: AttributeScope,
): ListedChild[] {
  const listed: ListedChild[] = [];
  const withAttributes = (child: ListedChild, path: string): ListedChild => {
    const read = attributes === undefined ? undefined : tree.readAttributes(path, attributes);
    return read === undefined ? child : { ...child, attributes: read.attributes };
  };
  for (const { name, kind } of entries) {
    const child = joinRel(dir, name);
    if (isExcluded(child, kind === 'dir')) continue;
    if (kind === 'symlink') {
      const link = tree.readlink(child);
      const found = tree.lstat(child);
      const stated = found.kind === 'symlink' ? { owner: found.owner, mtimeMs: found.mtimeMs } : {};
      const target = link.status === 'ok' ? link.target : '';
      listed.push(withAttributes(dropUndefined({ name, kind, target, ...stated }), child));
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
      listed.push(withAttributes({ name, kind: 'file', mode, fingerprint, mtimeMs, ...owned }, child));
    } else if (found.kind === 'dir') {
      const { mode, fingerprint, mtimeMs } = found;
      listed.push(withAttributes(dropUndefined({ name, kind: 'dir', mode, fingerprint, mtimeMs, ...owned }), child));
    } else if (found.kind === 'symlink' || found.kind === 'special') {
      listed.push({ name, kind: found.kind });
    }
  }
  return listed;
}
