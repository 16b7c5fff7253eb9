// What a run measured, as the scenarios fill it in (times in milliseconds, memory in MiB).
import type { Summary } from './stats.ts';

export interface LsyncdResults {
  /** lsyncd's own start: its initial full rsync of the tree into an empty directory. */
  startupMs?: number;
  latency?: Summary;
  burstMs?: number;
  burstFiles?: number;
  pullJob?: PullJobResult;
}

/** The pull-job stage: files (and bytes) on the replica, first write → last arrival. */
export interface PullJobResult {
  files: number;
  bytes: number;
  /** Files larger than the inline limit: their content went through the object store. */
  viaStore: number;
  ms: number;
  writeMs: number;
}

export interface BenchResults {
  /** Producer's first start on the tree: initial reconcile publishing every file (informational). */
  initialPublishMs?: number;
  latency?: Summary;
  loadLatency?: Summary;
  burst?: { files: number; ms: number; writeMs: number };
  pullJob?: PullJobResult;
  bootstrapMs?: number;
  rsyncInitialMs?: number;
  /** The first restart: its walk compares every directory, and records the digests (see restart.ts). */
  reconcileMs?: number;
  /** A second restart, nothing changed since the first: the digests recorded spare the index reads. */
  reconcileAgainMs?: number;
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
