// A seq is the producer's hybrid clock in microseconds: wall-clock time, or one past the
// last seq when events come faster than that. Last-writer-wins trusts it, so one record
// with a seq far in the future (a crafted 2^53 - 1, or a producer clock years ahead) would
// win against every real change of its path for ever after: the path would freeze. Such a
// record is refused instead (dead-lettered, visible), whatever it says.

/** How far ahead of the applier's clock a seq may be: clock skew and bursts fit well inside. */
export const MAX_SEQ_LEAD_MS = 24 * 3600 * 1000;

/** Whether `seq` (µs) lies beyond `nowMs` + MAX_SEQ_LEAD_MS; exact (bigint), whatever its size. */
export function seqTooFarAhead(seq: number | bigint, nowMs: number): boolean {
  return BigInt(seq) > (BigInt(Math.trunc(nowMs)) + BigInt(MAX_SEQ_LEAD_MS)) * 1000n;
}
