// Whether a batch is worth gzip. Compression is paid three times (here, by the broker,
// which decompresses every batch to validate it, and by every replica), so it is used
// only where it pays: text shrinks to a fraction, but inline content that is already
// compressed (images, archives) only loses base64's expansion, to ~75%, and gzip then
// costs a third of the producer's CPU for a quarter of the bytes.
import zlib from 'node:zlib';

/** Compress when a sample of the batch shrinks to at most this fraction. */
export const WORTH_COMPRESSING_RATIO = 0.7;
const SAMPLE_BYTES = 64 * 1024;
const SAMPLE_PER_VALUE = 4096;

/**
 * Estimates the batch's gzip ratio from pieces of values spread across it (a few
 * milliseconds for any batch size) and says whether it reaches WORTH_COMPRESSING_RATIO.
 */
export function worthCompressing(values: readonly (string | null)[]): boolean {
  const pieces: string[] = [];
  let sampled = 0;
  const stride = Math.max(1, Math.floor(values.length / (SAMPLE_BYTES / SAMPLE_PER_VALUE)));
  for (let i = 0; i < values.length && sampled < SAMPLE_BYTES; i += stride) {
    const value = values[i];
    if (!value) continue;
    const piece = value.length > SAMPLE_PER_VALUE ? value.slice(0, SAMPLE_PER_VALUE) : value;
    pieces.push(piece);
    sampled += piece.length;
  }
  if (sampled === 0) return false;
  const sample = Buffer.from(pieces.join(''));
  return zlib.deflateRawSync(sample).length <= sample.length * WORTH_COMPRESSING_RATIO;
}
