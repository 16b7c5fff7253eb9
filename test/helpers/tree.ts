// An independent picture of a directory tree, for comparing source and replica in
// tests: type, bytes (sha256), permission bits, mtime (ms) and link targets. Written
// apart from the services' own code so a shared bug cannot hide itself.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

export type TreeEntry =
  | { kind: 'file'; size: number; mode: number; mtimeMs: number; hash: string }
  | { kind: 'dir'; mode: number }
  | { kind: 'symlink'; target: string };

export type TreeSnapshot = Map<string, TreeEntry>;

/**
 * The tree as it is now. A tree still being written may lose an entry between readdir
 * and lstat: such entries are left out (the caller compares again later).
 */
export async function snapshotTree(
  root: string,
  options: { ignore?: (rel: string) => boolean } = {},
): Promise<TreeSnapshot> {
  const result: TreeSnapshot = new Map();
  const vanished = (error: unknown) => {
    if (!['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '')) throw error;
    return undefined;
  };
  async function visit(dir: string, rel: string): Promise<void> {
    const names = (await fs.readdir(dir).catch(vanished)) ?? [];
    for (const name of names.sort()) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      if (options.ignore?.(childRel)) continue;
      const abs = path.join(dir, name);
      const stats = await fs.lstat(abs).catch(vanished);
      if (stats === undefined) continue;
      if (stats.isSymbolicLink()) {
        const target = await fs.readlink(abs).catch(vanished);
        if (target !== undefined) result.set(childRel, { kind: 'symlink', target });
      } else if (stats.isDirectory()) {
        result.set(childRel, { kind: 'dir', mode: stats.mode & 0o7777 });
        await visit(abs, childRel);
      } else if (stats.isFile()) {
        const bytes = await fs.readFile(abs).catch(vanished);
        if (bytes === undefined) continue;
        const hash = createHash('sha256').update(bytes).digest('hex');
        result.set(childRel, {
          kind: 'file',
          size: stats.size,
          mode: stats.mode & 0o7777,
          mtimeMs: Math.trunc(stats.mtimeMs),
          hash,
        });
      }
    }
  }
  await visit(root, '');
  return result;
}

/** Human-readable differences, empty when the trees are equal. */
export function diffTrees(expected: TreeSnapshot, actual: TreeSnapshot, limit = 20): string[] {
  const lines: string[] = [];
  const canonical = (entry: TreeEntry | undefined) =>
    entry === undefined ? 'missing' : JSON.stringify(entry, Object.keys(entry).sort());
  for (const key of [...new Set([...expected.keys(), ...actual.keys()])].sort()) {
    const a = canonical(expected.get(key));
    const b = canonical(actual.get(key));
    if (a !== b) lines.push(`${JSON.stringify(key)}: expected ${a}, got ${b}`);
    if (lines.length >= limit) break;
  }
  return lines;
}
