// How many of the observations ready to publish go into the next send: at most
// maxBatch, and under maxBatchBytes of encoded records (always at least one).
import type { Observation } from './observation.ts';

export function nextBatchLength(
  ready: readonly Observation[],
  limits: { readonly maxBatch: number; readonly maxBatchBytes: number },
): number {
  let bytes = 0;
  let count = 0;
  for (const observation of ready) {
    // base64 inline content plus the JSON and headers around it.
    bytes += 512 + Math.ceil((observation.data?.length ?? 0) / 3) * 4;
    if (count > 0 && (count >= limits.maxBatch || bytes > limits.maxBatchBytes)) break;
    count++;
  }
  return count;
}
