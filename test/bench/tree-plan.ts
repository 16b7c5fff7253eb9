// What the benchmark writes, as pure data: the N-file tree, the latency files and the
// burst. Every file's path, size and bytes follow from (seed, stream, index), so a plan
// is cheap to hold (nothing is materialized until asked) and identical across runs.
import { createHash } from 'node:crypto';
import { createRng, deriveSeed, randomBytes } from './prng.ts';

export const MIN_FILE_SIZE = 200;
export const MAX_FILE_SIZE = 8192;
export const FILES_PER_DIR = 100;
export const TREE_LEVELS = 3;

/** Independent pseudo-random streams of one run seed. */
export const STREAM = {
  tree: 1,
  latency: 2,
  burst: 3,
  sample: 4,
  lsyncdLatency: 5,
  lsyncdBurst: 6,
  pullJob: 7,
  lsyncdPullJob: 8,
} as const;

export interface PlannedFile {
  readonly index: number;
  /** Relative, `/`-separated. */
  readonly path: string;
  readonly size: number;
  /** Seed of the content bytes. */
  readonly seed: number;
  /** Text that compresses as a web page does (random bytes, as images are, otherwise). */
  readonly text?: boolean;
}

export function plannedFile(seed: number, stream: number, index: number, path: string): PlannedFile {
  const fileSeed = deriveSeed(seed, stream, index);
  const size = createRng(fileSeed).nextInt(MIN_FILE_SIZE, MAX_FILE_SIZE);
  return { index, path, size, seed: fileSeed };
}

export function fileContent(file: PlannedFile): Buffer {
  return file.text === true ? pageText(file.seed, file.size) : randomBytes(file.seed, file.size);
}

const WORDS = ['news', 'the', 'city', 'council', 'of', 'votes', 'on', 'a', 'new', 'budget', 'for', 'schools', 'and'];
let pageBody: Buffer | undefined;

/** Markup of `size` bytes: a page of its own seed over a shared body, so it compresses as HTML does. */
function pageText(seed: number, size: number): Buffer {
  if (pageBody === undefined) {
    const rng = createRng(0x70616765);
    const parts: string[] = [];
    for (let length = 0; length < 256 * 1024;) {
      const words = Array.from({ length: rng.nextInt(8, 40) }, () => WORDS[rng.nextInt(0, WORDS.length - 1)]);
      const paragraph = `<p class="c${rng.nextInt(0, 9)}">${words.join(' ')}</p>\n`;
      parts.push(paragraph);
      length += paragraph.length;
    }
    pageBody = Buffer.from(parts.join(''));
  }
  const out = Buffer.alloc(size);
  const head = Buffer.from(`<!doctype html><title>page ${seed}</title>\n`);
  head.copy(out, 0, 0, Math.min(size, head.length));
  for (let at = head.length, from = seed % Math.floor(pageBody.length / 2); at < size; from = 0)
    at += pageBody.copy(out, at, from, Math.min(pageBody.length, from + size - at));
  return out;
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

export interface TreePlan {
  readonly files: number;
  readonly seed: number;
  /** Directories per level: the smallest f with f^levels ≥ the number of leaf directories. */
  readonly fanout: number;
  readonly leafDirs: number;
  /** Every directory of the tree, parents before children. */
  dirs(): string[];
  file(index: number): PlannedFile;
  [Symbol.iterator](): Iterator<PlannedFile>;
}

/**
 * N files, `filesPerDir` per leaf directory, leaf directories `levels` deep:
 * file i lives in leaf directory k = ⌊i / filesPerDir⌋, whose path is k written in base
 * `fanout` with one digit per level (`d03/d11/d07/f0012345.dat`).
 */
export function planTree(options: { files: number; seed: number; filesPerDir?: number; levels?: number }): TreePlan {
  const { files, seed } = options;
  const filesPerDir = options.filesPerDir ?? FILES_PER_DIR;
  const levels = options.levels ?? TREE_LEVELS;
  if (!Number.isInteger(files) || files < 1) throw new RangeError(`files must be a positive integer, got ${files}`);
  const leafDirs = Math.ceil(files / filesPerDir);
  let fanout = Math.max(1, Math.ceil(leafDirs ** (1 / levels)));
  while (fanout ** levels < leafDirs) fanout++;
  while (fanout > 1 && (fanout - 1) ** levels >= leafDirs) fanout--;
  const dirWidth = String(Math.max(0, fanout - 1)).length;
  const fileWidth = String(files - 1).length;

  const leafDigits = (k: number): number[] => {
    const digits: number[] = [];
    for (let level = 0; level < levels; level++) {
      digits.unshift(k % fanout);
      k = Math.floor(k / fanout);
    }
    return digits;
  };
  const dirPath = (digits: readonly number[]): string => digits.map((d) => `d${pad(d, dirWidth)}`).join('/');

  const file = (index: number): PlannedFile => {
    if (!Number.isInteger(index) || index < 0 || index >= files)
      throw new RangeError(`file index ${index} outside 0..${files - 1}`);
    const dir = dirPath(leafDigits(Math.floor(index / filesPerDir)));
    return plannedFile(seed, STREAM.tree, index, `${dir}/f${pad(index, fileWidth)}.dat`);
  };

  return {
    files,
    seed,
    fanout,
    leafDirs,
    dirs() {
      const seen = new Set<string>();
      const out: string[] = [];
      for (let k = 0; k < leafDirs; k++) {
        const digits = leafDigits(k);
        for (let depth = 1; depth <= levels; depth++) {
          const dir = dirPath(digits.slice(0, depth));
          if (!seen.has(dir)) {
            seen.add(dir);
            out.push(dir);
          }
        }
      }
      return out;
    },
    file,
    *[Symbol.iterator]() {
      for (let i = 0; i < files; i++) yield file(i);
    },
  };
}

export interface BurstFile extends PlannedFile {
  /** Written during the burst, and also timed one by one (latency under load). */
  readonly marked: boolean;
  /** Written before the burst outside the tree, and moved in during it (BurstOptions.moveIn). */
  readonly staged?: boolean;
}

export interface BurstPlan {
  readonly root: string;
  /** The new directories, in writing order. */
  readonly dirs: readonly string[];
  /** In writing order: directory by directory. */
  readonly files: readonly BurstFile[];
}

/**
 * `files` new files spread evenly over `dirs` new directories under `root`; `marked` of
 * them, evenly spaced through the writing order, are timed individually.
 */
export function planBurst(options: {
  seed: number;
  root: string;
  files: number;
  dirs: number;
  marked: number;
  stream?: number;
}): BurstPlan {
  const { seed, root, files, dirs, marked } = options;
  if (dirs < 1 || files < dirs)
    throw new RangeError(`a burst needs at least one file per directory (${files} files, ${dirs} dirs)`);
  if (marked < 0 || marked > files) throw new RangeError(`cannot mark ${marked} of ${files} files`);
  const stream = options.stream ?? STREAM.burst;
  const dirWidth = String(dirs - 1).length;
  const fileWidth = String(files - 1).length;
  const dirNames = Array.from({ length: dirs }, (_, d) => `${root}/b${pad(d, dirWidth)}`);
  const stride = marked === 0 ? 0 : files / marked;
  const markedIndexes = new Set(Array.from({ length: marked }, (_, m) => Math.floor(m * stride + stride / 2)));
  const out: BurstFile[] = [];
  for (let i = 0; i < files; i++) {
    const dir = dirNames[Math.floor((i * dirs) / files)]!;
    out.push({ ...plannedFile(seed, stream, i, `${dir}/f${pad(i, fileWidth)}.dat`), marked: markedIndexes.has(i) });
  }
  return { root, dirs: dirNames, files: out };
}

/** `count` single files under `root`, written one at a time. */
export function planSingles(options: { seed: number; root: string; count: number; stream: number }): PlannedFile[] {
  const width = String(Math.max(0, options.count - 1)).length;
  return Array.from({ length: options.count }, (_, i) =>
    plannedFile(options.seed, options.stream, i, `${options.root}/l${pad(i, width)}.dat`),
  );
}

/** `count` distinct indexes in [0, total), pseudo-randomly chosen by `seed`, ascending. */
export function sampleIndexes(seed: number, total: number, count: number): number[] {
  if (count >= total) return Array.from({ length: total }, (_, i) => i);
  const rng = createRng(deriveSeed(seed, STREAM.sample, total));
  const chosen = new Set<number>();
  while (chosen.size < count) chosen.add(rng.nextInt(0, total - 1));
  return [...chosen].sort((a, b) => a - b);
}
