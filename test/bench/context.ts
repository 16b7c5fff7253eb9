// What every scenario of a run shares: options, names, directories, the service launcher,
// the services now running, and the results being filled in.
import { join } from 'node:path';
import type { BenchOptions } from './args.ts';
import type { BenchResults } from './results.ts';
import type { RunNames, Service, ServiceLauncher } from './services.ts';
import type { TreePlan } from './tree-plan.ts';

export interface WorkDirs {
  root: string;
  source: string;
  replica: string;
  rsyncCopy: string;
  lsyncd: string;
  lsyncdTarget: string;
  /** Where a directory to be moved into the source is prepared (same filesystem, outside the tree). */
  staging: string;
  profiles: string;
  producerState: string;
  applierState: string;
  logs: string;
}

export function workDirs(root: string): WorkDirs {
  return {
    root,
    source: join(root, 'source'),
    replica: join(root, 'replica'),
    rsyncCopy: join(root, 'rsync-copy'),
    lsyncd: join(root, 'lsyncd'),
    lsyncdTarget: join(root, 'lsyncd-target'),
    staging: join(root, 'staging'),
    profiles: join(root, 'profiles'),
    producerState: join(root, 'state', 'producer'),
    applierState: join(root, 'state', 'applier'),
    logs: join(root, 'logs'),
  };
}

/** Top-level directories of the source that the scenarios add to the generated tree. */
export const STAGE_DIRS = {
  latency: 'bench-latency',
  burst: 'bench-burst',
  lsyncdLatency: 'bench-lsyncd-latency',
  lsyncdBurst: 'bench-lsyncd-burst',
  pullJob: 'bench-pull',
  lsyncdPullJob: 'bench-lsyncd-pull',
} as const;

export interface BenchContext {
  readonly options: BenchOptions;
  readonly names: RunNames;
  readonly dirs: WorkDirs;
  readonly plan: TreePlan;
  readonly launcher: ServiceLauncher;
  readonly results: BenchResults;
  producer: Service | undefined;
  applier: Service | undefined;
  /** Warnings worth repeating under the final table (service problems seen on the way). */
  readonly notes: string[];
}

/** Stall and overall time limits of the waits, scaled with the tree size. */
export function limits(files: number): { publishMs: number; bootstrapMs: number; restartMs: number; stallMs: number } {
  return {
    publishMs: 120_000 + files * 20,
    bootstrapMs: 120_000 + files * 20,
    restartMs: 60_000 + files * 5,
    stallMs: 120_000,
  };
}
