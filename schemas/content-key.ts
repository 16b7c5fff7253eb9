// Where content lives in the object store: immutable, deduplicated by its sha256.
const SHA256_HEX = /^[0-9a-f]{64}$/;

export function isSha256Hex(text: string): boolean {
  return SHA256_HEX.test(text);
}

/** `sha256/<first 2 hex>/<hash>` under an optional prefix ending in '/'. */
export function contentKey(hash: string, prefix = ''): string {
  if (!isSha256Hex(hash)) throw new TypeError(`not a sha256 hex digest: '${hash}'`);
  return `${prefix}sha256/${hash.slice(0, 2)}/${hash}`;
}

export { deadLetterTopic } from './names.ts';

/**
 * The heal-request topic of a tree: an applier that finds a store object missing or not
 * matching its hash asks the producer side, through it, to upload that content again
 * (schemas/heal-request.ts; services/producer/heal-responder.ts answers).
 */
export function healTopic(topic: string): string {
  return `${topic}.heal`;
}
