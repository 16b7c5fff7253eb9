// The seed site's pull jobs as pure data: each job makes a new dated directory
// (`mkdir -p pull/2026/11/03/0500`) and writes its files into it as fast as it can, half
// pages (2–50 KB of markup) and half images (8–200 KB of random bytes), so that part of
// them travels inside records and part through the object store. One more directory,
// prepared outside the tree, is moved in after the first job: a subtree that appears
// with one rename.
import { createRng, deriveSeed } from './prng.ts';
import type { BurstFile, BurstPlan } from './tree-plan.ts';

export interface PullJobPlan extends BurstPlan {
  /** The moved-in directory: where it is prepared (relative to the staging root) and where it goes. */
  readonly movedIn: { readonly staged: string; readonly target: string; readonly afterFiles: number };
}

/** Log-uniform in [min, max]: as many files of a few KB as of a hundred. */
function logUniform(u: number, min: number, max: number): number {
  return Math.round(min * (max / min) ** u);
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

export function planPullJob(options: {
  seed: number;
  root: string;
  jobs: number;
  filesPerJob: number;
  movedInFiles: number;
  stream: number;
}): PullJobPlan {
  const { seed, root, jobs, filesPerJob, movedInFiles, stream } = options;
  if (jobs < 1 || filesPerJob < 1) throw new RangeError(`a pull job needs files (${jobs} jobs of ${filesPerJob})`);
  const files: BurstFile[] = [];
  const dirs: string[] = [];
  const add = (dir: string, name: string, staged: boolean) => {
    const index = files.length;
    const fileSeed = deriveSeed(seed, stream, index);
    const rng = createRng(fileSeed);
    const text = rng.nextFloat() < 0.5;
    const size = text ? logUniform(rng.nextFloat(), 2_000, 50_000) : logUniform(rng.nextFloat(), 8_000, 200_000);
    const path = `${dir}/${name}.${text ? 'html' : 'jpg'}`;
    files.push({ index, path, size, seed: fileSeed, text, marked: false, ...(staged ? { staged } : {}) });
  };
  const width = String(filesPerJob - 1).length;
  for (let job = 0; job < jobs; job++) {
    const dir = `${root}/2026/11/${pad(1 + (job % 28), 2)}/${pad((job * 5) % 24, 2)}00-${job}`;
    dirs.push(dir);
    for (let i = 0; i < filesPerJob; i++) add(dir, `a${pad(i, width)}`, false);
  }
  const target = `${root}/moved-in`;
  const subdirs = Math.max(1, Math.ceil(movedInFiles / 100));
  for (let i = 0; i < movedInFiles; i++) add(`${target}/s${pad(i % subdirs, 3)}`, `m${pad(i, 5)}`, true);
  return { root, dirs, files, movedIn: { staged: 'moved-in', target, afterFiles: filesPerJob } };
}
