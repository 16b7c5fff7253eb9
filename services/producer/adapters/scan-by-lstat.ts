// The scan of a tree that has no native one: its listing, then an lstat of each name.
import { joinRel } from '../../../schemas/rel-path.ts';
import type { Scan, SourceTree } from '../ports/source-tree.ts';

export function scanByLstat(tree: Pick<SourceTree, 'readdir' | 'lstat'>, relDir: string): Scan {
  const listing = tree.readdir(relDir);
  if (listing.status !== 'ok') return listing;
  return {
    status: 'ok',
    entries: listing.entries.map(({ name }) => ({ name, probe: tree.lstat(joinRel(relDir, name)) })),
  };
}
