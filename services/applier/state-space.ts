// The state directory holds the applied index (SQLite), the temp journal and staged
// content. When its filesystem fills up, SQLite fails mid-transaction and may roll the
// whole transaction back; the applier used to exit (issue 20, M9). Instead the apply lane
// checks the free space before it applies and holds while it is short, saying why in
// /readyz, and goes on by itself once there is room again.
import { statfsSync } from 'node:fs';

/** Below this much free space in the state directory, nothing is applied. */
export const MIN_STATE_FREE_BYTES = 64 * 1024 * 1024;

const MIB = 1024 * 1024;

/** Why the state directory cannot take more work now, or undefined when it can. */
export function stateSpaceProblem(freeBytes: number, minFreeBytes = MIN_STATE_FREE_BYTES): string | undefined {
  if (freeBytes >= minFreeBytes) return undefined;
  const free = Math.floor(freeBytes / MIB);
  const needed = Math.ceil(minFreeBytes / MIB);
  return `the state directory is (nearly) full: ${free} MiB free, ${needed} MiB needed`;
}

/** Bytes available to this process in the filesystem of `dir`. */
export function freeBytes(dir: string): number {
  const stats = statfsSync(dir);
  return stats.bavail * stats.bsize;
}

/** stateSpaceProblem for `dir`; a directory that cannot even be checked is a problem too. */
export function stateDirProblem(dir: string): string | undefined {
  try {
    return stateSpaceProblem(freeBytes(dir));
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? String(error);
    return `cannot check the free space of the state directory (${reason})`;
  }
}
