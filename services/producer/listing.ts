// A directory's children with what lstat and readlink say of each: what a comparison with
// the index needs (domain/dir-compare.ts). Shared by the reconcile walk and the examiner.
import { joinRel } from '../../schemas/rel-path.ts';
import type { ListedChild } from './domain/dir-compare.ts';
import type { Excluder } from './domain/exclude.ts';
import type { AttributeScope } from '../shared/attributes.ts';
import type { ScannedName, SourceTree } from './ports/source-tree.ts';

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
  scanned: readonly ScannedName[],
  isExcluded: Excluder,
  /** Which attributes to read of each child (none: undefined). */
  attributes?: AttributeScope,
): ListedChild[] {
  const listed: ListedChild[] = [];
  const withAttributes = (child: ListedChild, path: string): ListedChild => {
    const read = attributes === undefined ? undefined : tree.readAttributes(path, attributes);
    return read === undefined ? child : { ...child, attributes: read.attributes };
  };
  for (const { name, probe } of scanned) {
    const child = joinRel(dir, name);
    if (probe.kind === 'missing' || probe.kind === 'unreadable' || isExcluded(child, probe.kind === 'dir')) continue;
    if (probe.kind === 'special') {
      listed.push({ name, kind: 'special' });
      continue;
    }
    const owned = probe.owner === undefined ? {} : { owner: probe.owner };
    if (probe.kind === 'symlink') {
      const link = tree.readlink(child);
      const target = link.status === 'ok' ? link.target : '';
      listed.push(
        withAttributes(dropUndefined({ name, kind: 'symlink', target, mtimeMs: probe.mtimeMs, ...owned }), child),
      );
      continue;
    }
    const { mode, fingerprint, mtimeMs } = probe;
    const stated = { name, kind: probe.kind, mode, fingerprint, mtimeMs, ...owned };
    // A file's probe has every field; only a directory's mtime may be unknown (once per child: no key walk).
    listed.push(withAttributes(probe.kind === 'file' ? stated : dropUndefined(stated), child));
  }
  return listed;
}
