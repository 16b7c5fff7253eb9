// The benchmark's command line.
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';

export interface BenchOptions {
  files: number;
  json: string | undefined;
  withLsyncd: boolean;
  work: string | undefined;
  keep: boolean;
  seed: number;
  latencyWrites: number;
  latencyGapMs: number;
  burstFiles: number;
  burstDirs: number;
  loadMarked: number;
  lsyncdWrites: number;
  pullJobs: number;
  pullFiles: number;
  cpuProf: boolean;
}

export const USAGE = `usage: npm run bench -- [options]

  --files N            files in the generated tree (default 100000)
  --json FILE          write the results as JSON to FILE
  --with-lsyncd        also measure lsyncd (delay = 1); installs it with apt-get if missing
  --work DIR           work directory (default: a new directory under the system temp dir)
  --keep               keep the work directory, topic and objects at the end
  --seed N             seed of the generated content (default 1)
  --latency-writes N   single-file writes timed one at a time (default 200)
  --latency-gap-ms MS  minimum time between two of them (default 600)
  --burst-files N      files written in the burst (default 10000)
  --burst-dirs N       new directories they go into (default 100)
  --load-marked N      burst files timed one by one: latency under load (default 50)
  --lsyncd-writes N    single-file writes timed for lsyncd (default 20)
  --pull-jobs N        pull jobs in the pull-job stage, each a new dated directory (default 2)
  --pull-files N       files each pull job writes (default 5000; a fifth as many are moved in)
  --cpu-prof           run the services under node --cpu-prof; profiles kept in <work>/profiles
                       and their hottest functions printed at the end
  --help               this text`;

export class UsageError extends Error {}

function integer(name: string, text: string | undefined, fallback: number, min: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min)
    throw new UsageError(`--${name} must be an integer ≥ ${min}, got '${text}'`);
  return value;
}

/** Relative paths are taken from where `npm run` was called (INIT_CWD), not the package root. */
function userPath(path: string | undefined, cwd: string): string | undefined {
  return path === undefined ? undefined : resolve(cwd, path);
}

/** Parsed options, or 'help'. Throws UsageError on a bad command line. */
export function parseBenchArgs(
  argv: readonly string[],
  cwd = process.env.INIT_CWD ?? process.cwd(),
): BenchOptions | 'help' {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        files: { type: 'string' },
        json: { type: 'string' },
        'with-lsyncd': { type: 'boolean' },
        work: { type: 'string' },
        keep: { type: 'boolean' },
        seed: { type: 'string' },
        'latency-writes': { type: 'string' },
        'latency-gap-ms': { type: 'string' },
        'burst-files': { type: 'string' },
        'burst-dirs': { type: 'string' },
        'load-marked': { type: 'string' },
        'lsyncd-writes': { type: 'string' },
        'pull-jobs': { type: 'string' },
        'pull-files': { type: 'string' },
        'cpu-prof': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const v = parsed.values;
  if (v.help === true) return 'help';
  const options: BenchOptions = {
    files: integer('files', v.files, 100_000, 1),
    json: userPath(v.json, cwd),
    withLsyncd: v['with-lsyncd'] === true,
    work: userPath(v.work, cwd),
    keep: v.keep === true,
    seed: integer('seed', v.seed, 1, 0),
    latencyWrites: integer('latency-writes', v['latency-writes'], 200, 1),
    latencyGapMs: integer('latency-gap-ms', v['latency-gap-ms'], 600, 0),
    burstFiles: integer('burst-files', v['burst-files'], 10_000, 1),
    burstDirs: integer('burst-dirs', v['burst-dirs'], 100, 1),
    loadMarked: integer('load-marked', v['load-marked'], 50, 0),
    lsyncdWrites: integer('lsyncd-writes', v['lsyncd-writes'], 20, 1),
    pullJobs: integer('pull-jobs', v['pull-jobs'], 2, 1),
    pullFiles: integer('pull-files', v['pull-files'], 5_000, 1),
    cpuProf: v['cpu-prof'] === true,
  };
  if (options.burstFiles < options.burstDirs) throw new UsageError('--burst-files must be ≥ --burst-dirs');
  if (options.loadMarked > options.burstFiles) throw new UsageError('--load-marked must be ≤ --burst-files');
  return options;
}
