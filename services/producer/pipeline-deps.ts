// What the producer's pipeline (pipeline.ts) is given: its limits, and the stages it drives.
import type { Clock } from '../shared/clock.ts';
import type { Logger } from '../shared/logger.ts';
import type { Observation } from './domain/observation.ts';
import type { ExamineResult } from './examiner.ts';
import type { ProducerMetrics } from './metrics.ts';

export interface PathExaminer {
  examine(path: string, firstHintAt: number, options: { snapshot?: boolean }): Promise<ExamineResult>;
}

export interface BatchPublisher {
  publish(batch: readonly Observation[]): Promise<number>;
}

export type PipelineOptions = {
  quietMs: number;
  workers: number;
  /** Examined-but-unpublished paths tolerated before workers pause. */
  maxPending: number;
  /** Inline content held by examined-but-unpublished paths before workers pause. */
  maxPendingBytes: number;
  /** Queued hints tolerated before new ones are dropped in favour of a reconcile. */
  maxHints: number;
  maxBatch: number;
  /** Bytes of inline content per send: every record batch must stay under the topic's max.message.bytes. */
  maxBatchBytes: number;
  /** A file that changed while read for this long is published from a snapshot read (M10). */
  maxUnstableMs: number;
};

export type PipelineDeps = {
  examiner: PathExaminer;
  publisher: BatchPublisher;
  metrics: ProducerMetrics;
  logger: Logger;
  clock: Clock;
  /** Called when hints had to be dropped (once per reconcile: see takeDroppedHints): the caller schedules one. */
  onHintsDropped: () => void;
  /** Work queued outside the pipeline that will still produce hints (new directories to walk). */
  hasPendingWalks: () => boolean;
  /** The mass-deletion guard's gate (all deletes pass when absent). */
  deletes?: DeleteAdmission;
};

/** Where observations that delete something wait for the mass-deletion guard (delete-hold.ts). */
export type DeleteAdmission = {
  /** Of `batch`, what may be published now; the rest is held (and leaves the pipeline). */
  admit(batch: readonly Observation[]): Observation[];
  /** Held deletes not yet judged: the pipeline is not idle. */
  readonly judging: boolean;
};
