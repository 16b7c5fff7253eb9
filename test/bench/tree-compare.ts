// Compares a replica with its source: every path, its type and size (and, reported apart,
// permission bits and file mtimes), and the content sha256 of all or of a sample of files.
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import { sleep, nowMs } from './clock.ts';
import { sampleIndexes } from './tree-plan.ts';
import { wholeMs } from '../helpers/tree.ts';

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

export interface Entry {
  type: EntryType;
  size: number;
  mode: number;
  mtimeMs: number;
  target?: string;
}

/** Every entry under `root` (not the root itself), keyed by relative `/`-separated path. */
export function walkTree(root: string, skip: (rel: string) => boolean = () => false): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const stack: string[] = [''];
  while (stack.length > 0) {
    const rel = stack.pop()!;
    const names = readdirSync(rel === '' ? root : join(root, rel));
    for (const name of names) {
      const childRel = rel === '' ? name : `${rel}/${name}`;
      if (skip(childRel)) continue;
      const abs = join(root, childRel);
      const stat = lstatSync(abs, { bigint: true });
      const type: EntryType = stat.isFile()
        ? 'file'
        : stat.isDirectory()
          ? 'dir'
          : stat.isSymbolicLink()
            ? 'symlink'
            : 'other';
      const entry: Entry = {
        type,
        size: type === 'file' ? Number(stat.size) : 0,
        mode: Number(stat.mode & 0o7777n),
        mtimeMs: wholeMs(stat),
      };
      if (type === 'symlink') entry.target = readlinkSync(abs);
      out.set(childRel, entry);
      if (type === 'dir') stack.push(childRel);
    }
  }
  return out;
}

export type HashSelection = { kind: 'all' } | { kind: 'none' } | { kind: 'sample'; count: number; seed: number };

export interface CompareOptions {
  hash: HashSelection;
  /** Files hashed in any case (e.g. those a stage wrote). */
  alsoHash?: Iterable<string>;
  /** Paths left out on both sides (and everything under them). */
  skip?: (rel: string) => boolean;
}

export interface Comparison {
  sourceEntries: number;
  replicaEntries: number;
  hashed: number;
  /** Convergence failures. */
  missing: string[];
  extra: string[];
  typeDiffers: string[];
  sizeDiffers: string[];
  contentDiffers: string[];
  symlinkDiffers: string[];
  /** Reported, not failures of this benchmark. */
  modeDiffers: string[];
  mtimeDiffers: string[];
  ms: number;
}

function fileHash(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export function compareTrees(source: string, replica: string, options: CompareOptions): Comparison {
  const started = nowMs();
  const skip = options.skip ?? (() => false);
  const src = walkTree(source, skip);
  const dst = walkTree(replica, skip);
  const result: Comparison = {
    sourceEntries: src.size,
    replicaEntries: dst.size,
    hashed: 0,
    missing: [],
    extra: [],
    typeDiffers: [],
    sizeDiffers: [],
    contentDiffers: [],
    symlinkDiffers: [],
    modeDiffers: [],
    mtimeDiffers: [],
    ms: 0,
  };
  const comparableFiles: string[] = [];
  for (const [path, a] of src) {
    const b = dst.get(path);
    if (b === undefined) {
      result.missing.push(path);
      continue;
    }
    if (a.type !== b.type) {
      result.typeDiffers.push(`${path} (${a.type} → ${b.type})`);
      continue;
    }
    if (a.mode !== b.mode && a.type !== 'symlink')
      result.modeDiffers.push(`${path} (${a.mode.toString(8)} → ${b.mode.toString(8)})`);
    if (a.type === 'file') {
      if (a.size !== b.size) {
        result.sizeDiffers.push(`${path} (${a.size} → ${b.size})`);
        continue;
      }
      if (a.mtimeMs !== b.mtimeMs) result.mtimeDiffers.push(path);
      comparableFiles.push(path);
    } else if (a.type === 'symlink' && a.target !== b.target) {
      result.symlinkDiffers.push(path);
    }
  }
  for (const path of dst.keys()) if (!src.has(path)) result.extra.push(path);

  let toHash: string[];
  switch (options.hash.kind) {
    case 'all':
      toHash = comparableFiles;
      break;
    case 'none':
      toHash = [];
      break;
    case 'sample':
      toHash = sampleIndexes(options.hash.seed, comparableFiles.length, options.hash.count).map(
        (i) => comparableFiles[i]!,
      );
      break;
    default: {
      const unknown: never = options.hash;
      throw new Error(`unknown hash selection ${JSON.stringify(unknown)}`);
    }
  }
  const hashSet = new Set(toHash);
  for (const path of options.alsoHash ?? [])
    if (src.get(path)?.type === 'file' && dst.get(path)?.size === src.get(path)?.size) hashSet.add(path);
  for (const path of hashSet) {
    if (fileHash(join(source, path)) !== fileHash(join(replica, path))) result.contentDiffers.push(path);
  }
  result.hashed = hashSet.size;
  result.ms = nowMs() - started;
  return result;
}

export function failureCount(c: Comparison): number {
  return (
    c.missing.length +
    c.extra.length +
    c.typeDiffers.length +
    c.sizeDiffers.length +
    c.contentDiffers.length +
    c.symlinkDiffers.length
  );
}

function listed(label: string, paths: readonly string[], limit = 5): string | undefined {
  if (paths.length === 0) return undefined;
  const shown = paths.slice(0, limit).join(', ');
  return `${paths.length} ${label}${paths.length > limit ? ` (first ${limit}: ${shown})` : ` (${shown})`}`;
}

/** One line naming every kind of failure with examples; empty when converged. */
export function describeFailures(c: Comparison): string {
  return [
    listed('missing on the replica', c.missing),
    listed('extra on the replica', c.extra),
    listed('of another type', c.typeDiffers),
    listed('of another size', c.sizeDiffers),
    listed('with other content', c.contentDiffers),
    listed('symlinks with another target', c.symlinkDiffers),
  ]
    .filter((s) => s !== undefined)
    .join('; ');
}

/** Mode and mtime differences, which this benchmark reports but does not fail on. */
export function describeMetadata(c: Comparison): string {
  return [listed('with other permission bits', c.modeDiffers), listed('files with another mtime', c.mtimeDiffers)]
    .filter((s) => s !== undefined)
    .join('; ');
}

/**
 * Compares until the replica matches (a last change may still be landing) or `timeoutMs`
 * passes; throws naming what differs.
 */
export async function assertConverged(
  what: string,
  source: string,
  replica: string,
  options: CompareOptions,
  timeoutMs = 30_000,
): Promise<Comparison> {
  const deadline = nowMs() + timeoutMs;
  for (;;) {
    const result = compareTrees(source, replica, options);
    if (failureCount(result) === 0) return result;
    if (nowMs() >= deadline)
      throw new Error(`${what}: the replica differs from the source: ${describeFailures(result)}`);
    await sleep(1000);
  }
}
