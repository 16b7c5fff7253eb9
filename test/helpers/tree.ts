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
 * Whole milliseconds of an mtime, floored from the nanoseconds. The double `mtimeMs` can
 * round up (…079.9999996 ms is …080 as a double), so it would disagree with a replica
 * whose mtime was set to the whole millisecond.
 */
export function wholeMs(stats: { mtimeNs: bigint }): number {
  const ms = stats.mtimeNs / 1_000_000n;
  return Number(stats.mtimeNs < 0n && ms * 1_000_000n !== stats.mtimeNs ? ms - 1n : ms);
}

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
      const stats = await fs.lstat(abs, { bigint: true }).catch(vanished);
      if (stats === undefined) continue;
      if (stats.isSymbolicLink()) {
        const target = await fs.readlink(abs).catch(vanished);
        if (target !== undefined) result.set(childRel, { kind: 'symlink', target });
      } else if (stats.isDirectory()) {
        result.set(childRel, { kind: 'dir', mode: Number(stats.mode & 0o7777n) });
        await visit(abs, childRel);
      } else if (stats.isFile()) {
        const bytes = await fs.readFile(abs).catch(vanished);
        if (bytes === undefined) continue;
        const hash = createHash('sha256').update(bytes).digest('hex');
        result.set(childRel, {
          kind: 'file',
          size: Number(stats.size),
          mode: Number(stats.mode & 0o7777n),
          mtimeMs: wholeMs(stats),
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
