// Whether the applier resumes where it stopped or rebuilds the replica by replaying the
// log from its earliest offsets (then sweeping away what the log no longer holds).
// Pure: the I/O shell gathers the facts, this decides.

/** Offsets by partition. */
export type Offsets = ReadonlyMap<number, number>;

export type StartFacts = {
  /** The state directory held a replica state (this is not the first start). */
  readonly hasState: boolean;
  /** A rebuild was started and has not finished (a crash or stop interrupted it). */
  readonly rebuildInProgress: boolean;
  /** `--rebuild` was given. */
  readonly rebuildRequested: boolean;
  /** `--adopt` was given: a new replica may start on a target that already holds files. */
  readonly adoptRequested: boolean;
  /** The target holds nothing (the applier's temp files aside). */
  readonly targetEmpty: boolean;
  /** The topic holds no record at all (a rebuild's sweep would then delete every file). */
  readonly logEmpty?: boolean;
  /** The applied index holds at least one present entry. */
  readonly indexHasEntries: boolean;
  /** Next offset to apply per partition, as last made durable; empty on a first start. */
  readonly positions: Offsets;
  /** The earliest offset the topic still holds, per partition. */
  readonly earliest: Offsets;
  readonly partitions: number;
};

export type RebuildReason =
  /** `--rebuild`. */
  | 'requested'
  /** No state yet: a new replica (or a lost state directory) replays the whole log. */
  | 'new-replica'
  /** The target was wiped (disk replaced?) while the index still describes a tree. */
  | 'target-empty'
  /** The log no longer holds the records after our position: tombstones may be lost. */
  | 'position-expired';

export type StartPlan =
  | { kind: 'resume' }
  /**
   * A new replica (no state) over a target that holds files, with neither `--rebuild` nor
   * `--adopt`: the replay's sweep would delete whatever the log lacks, and a mistyped
   * --replica, --topic or --state-dir looks exactly like this. The operator must say so.
   */
  | { kind: 'refuse'; reason: 'target-not-empty' }
  /** A rebuild over a target that holds files, from a log that holds nothing: it would only delete. */
  | { kind: 'refuse'; reason: 'empty-log' }
  | { kind: 'continue-rebuild' }
  /**
   * `clearIndex`: the index cannot be trusted for what is on disk, so it is emptied
   * and the replay rewrites everything.
   */
  | { kind: 'rebuild'; reason: RebuildReason; clearIndex: boolean };

export function planStart(facts: StartFacts): StartPlan {
  const plan = planStartIgnoringEmptyLog(facts);
  if (plan.kind === 'rebuild' && facts.logEmpty === true && !facts.targetEmpty)
    return { kind: 'refuse', reason: 'empty-log' };
  return plan;
}

function planStartIgnoringEmptyLog(facts: StartFacts): StartPlan {
  if (facts.targetEmpty && facts.indexHasEntries) return { kind: 'rebuild', reason: 'target-empty', clearIndex: true };
  // Checked before continuing an interrupted rebuild: records it had not replayed yet may
  // be gone too (a delete among them), and only a new epoch's sweep removes what they held.
  const expired = (partition: number) => {
    const position = facts.positions.get(partition);
    return position !== undefined && position < (facts.earliest.get(partition) ?? 0);
  };
  const partitions = Array.from({ length: facts.partitions }, (_, partition) => partition);
  if (facts.hasState && partitions.some(expired))
    return { kind: 'rebuild', reason: 'position-expired', clearIndex: false };
  if (facts.rebuildInProgress) return { kind: 'continue-rebuild' };
  if (!facts.hasState && !facts.targetEmpty && !facts.rebuildRequested && !facts.adoptRequested)
    return { kind: 'refuse', reason: 'target-not-empty' };
  if (facts.rebuildRequested) return { kind: 'rebuild', reason: 'requested', clearIndex: true };
  if (!facts.hasState) return { kind: 'rebuild', reason: 'new-replica', clearIndex: false };
  if (partitions.some((partition) => facts.positions.get(partition) === undefined))
    return { kind: 'rebuild', reason: 'position-expired', clearIndex: false };
  return { kind: 'resume' };
}

export type ReplayProgress = {
  /** Records (offsets) replayed so far and in total, over all partitions. */
  readonly done: number;
  readonly total: number;
  /** done / total, 1 when there is nothing to replay. */
  readonly ratio: number;
  /** Every partition reached the high watermark captured when the rebuild started. */
  readonly complete: boolean;
};

/**
 * How far a replay from `start` to `end` (exclusive) has come, given the next offset to
 * apply per partition. Offsets, not record counts: compaction leaves gaps, but they are
 * spread evenly enough for a percentage and an ETA.
 */
export function replayProgress(start: Offsets, end: Offsets, positions: Offsets): ReplayProgress {
  let done = 0;
  let total = 0;
  let complete = true;
  for (const [partition, high] of end) {
    const low = Math.min(start.get(partition) ?? 0, high);
    const position = Math.min(Math.max(positions.get(partition) ?? low, low), high);
    total += high - low;
    done += position - low;
    if (position < high) complete = false;
  }
  return { done, total, ratio: total === 0 ? 1 : done / total, complete };
}

/** Remaining time at the average rate since the replay started; undefined until measurable. */
export function estimateRemainingMs(
  progress: ReplayProgress,
  doneAtStart: number,
  elapsedMs: number,
): number | undefined {
  const rate = (progress.done - doneAtStart) / elapsedMs;
  if (!(rate > 0) || elapsedMs < 1000) return undefined;
  return Math.round((progress.total - progress.done) / rate);
}

/** `1h02m`, `3m05s`, `42s`. */
export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, '0')}m`;
  if (m > 0) return `${m}m${String(s).padStart(2, '0')}s`;
  return `${s}s`;
}
