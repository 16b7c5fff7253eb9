// What a run measured, as the scenarios fill it in (times in milliseconds, memory in MiB).
import type { Summary } from './stats.ts';

export interface LsyncdResults {
  /** lsyncd's own start: its initial full rsync of the tree into an empty directory. */
  startupMs?: number;
  latency?: Summary;
  burstMs?: number;
  burstFiles?: number;
}

export interface BenchResults {
  /** Producer's first start on the tree: initial reconcile publishing every file (informational). */
  initialPublishMs?: number;
  latency?: Summary;
  loadLatency?: Summary;
  burst?: { files: number; ms: number; writeMs: number };
  bootstrapMs?: number;
  rsyncInitialMs?: number;
  reconcileMs?: number;
  rsyncNoChangeMs?: number;
  findWalkMs?: number;
  producerRssMb?: number;
  applierRssMb?: number;
  /** CPU seconds used over the whole run (informational). */
  producerCpuS?: number;
  applierCpuS?: number;
  lsyncd?: LsyncdResults;
}

/** A stage that failed, and why. */
export interface StageError {
  stage: string;
  message: string;
}
