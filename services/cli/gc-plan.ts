// What `mirrorlog gc` may delete: objects that no retained record references and that
// were written longer than the grace period ago. Pure: the command feeds it the log's
// hashes and the store's listing.
import type { StoredContent } from '../shared/content-store.ts';

/**
 * The shortest grace period allowed without --force. The producer relies on content it
 * did not just store only while the object is younger than TRUST_STORED_MS (30 min);
 * the margin covers the time between that check and the event's publication.
 */
export const GC_MIN_GRACE_MS = 60 * 60_000;

const INITIAL_CAPACITY = 1 << 16;

/**
 * The set of hashes the log references, 8 bytes each (the first 64 bits of the sha256):
 * 9M referenced files fit in 72 MB. Two hashes sharing 64 bits would make one look
 * referenced, which only keeps an object; it never deletes one.
 */
export class ReferencedHashes {
  private prefixes = new BigUint64Array(INITIAL_CAPACITY);
  private count = 0;
  private sealed = false;

  add(hash: string): void {
    if (this.sealed) throw new Error('ReferencedHashes: add after seal');
    if (this.count === this.prefixes.length) {
      const grown = new BigUint64Array(this.prefixes.length * 2);
      grown.set(this.prefixes);
      this.prefixes = grown;
    }
    this.prefixes[this.count++] = prefixOf(hash);
  }

  /** Sorts and de-duplicates; lookups are valid from here on. */
  seal(): void {
    const sorted = this.prefixes.subarray(0, this.count).sort();
    let unique = 0;
    for (let i = 0; i < sorted.length; i++)
      if (i === 0 || sorted[i] !== sorted[unique - 1]) sorted[unique++] = sorted[i]!;
    this.prefixes = sorted.slice(0, unique);
    this.count = unique;
    this.sealed = true;
  }

  get size(): number {
    return this.count;
  }

  has(hash: string): boolean {
    if (!this.sealed) throw new Error('ReferencedHashes: lookup before seal');
    const wanted = prefixOf(hash);
    let low = 0;
    let high = this.count - 1;
    while (low <= high) {
      const middle = (low + high) >>> 1;
      const value = this.prefixes[middle]!;
      if (value === wanted) return true;
      if (value < wanted) low = middle + 1;
      else high = middle - 1;
    }
    return false;
  }
}

function prefixOf(hash: string): bigint {
  return BigInt(`0x${hash.slice(0, 16)}`);
}

export type Verdict = 'referenced' | 'young' | 'garbage';

/** `cutoffMs`: objects written at or after it are young, whatever references them. */
export function judge(object: StoredContent, referenced: ReferencedHashes, cutoffMs: number): Verdict {
  if (referenced.has(object.hash)) return 'referenced';
  if (object.lastModified.getTime() >= cutoffMs) return 'young';
  return 'garbage';
}

const HASH_FIELD = Buffer.from('"hash":"');
const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * The hash a record's JSON value references, if any, found without decoding the value
 * (inline content makes values large). A quote inside a string value is escaped, so
 * the field's marker cannot occur inside a path.
 */
export function referencedHash(value: Buffer | string | null): string | undefined {
  if (value === null) return undefined;
  const bytes = typeof value === 'string' ? Buffer.from(value) : value;
  const at = bytes.indexOf(HASH_FIELD);
  if (at < 0) return undefined;
  const hash = bytes.toString('latin1', at + HASH_FIELD.length, at + HASH_FIELD.length + 64);
  return SHA256_HEX.test(hash) ? hash : undefined;
}
