// `--at TIME` for restore: an ISO-8601 date-time, or relative to now (`-2h`, `-30m`,
// `-7d`, `-90s`). Pure, with `now` passed in.
import { parseDuration } from '../../schemas/config.ts';

export function parseRestoreTime(text: string, now: number): number | undefined {
  const trimmed = text.trim();
  if (trimmed.startsWith('-')) {
    const ms = parseDuration(trimmed.slice(1));
    return ms === undefined || ms === 0 ? undefined : now - ms;
  }
  // Date.parse accepts loose formats; insist on an ISO-8601 date (and optional time).
  if (!/^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed))
    return undefined;
  const ms = Date.parse(trimmed);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Why a restore at `at` cannot be exact, or undefined when it can. */
export function restoreTimeProblem(
  at: number,
  now: number,
  historyWindowMs: number,
  firstRecordTs: number | undefined,
): string | undefined {
  const oldest = now - historyWindowMs;
  if (at < oldest) {
    return (
      `${new Date(at).toISOString()} is outside the history window (${Math.round(historyWindowMs / 3_600_000)}h): ` +
      `compaction may have removed changes before ${new Date(oldest).toISOString()}, ` +
      'so the tree at that time cannot be rebuilt exactly'
    );
  }
  if (firstRecordTs !== undefined && at < firstRecordTs) {
    return (
      `${new Date(at).toISOString()} is before the first change in the log ` +
      `(${new Date(firstRecordTs).toISOString()}): the log does not know the tree at that time`
    );
  }
  return undefined;
}
