// The content-addressed store: immutable blobs named by the sha256 of their bytes.
// Two implementations share this interface and one contract suite
// (test/helpers/content-store-contract.ts): S3 (s3-content-store.ts) and memory.
//
// Uploads are checked against their hash while they stream: a file that changed
// between the caller hashing it and the store reading it would otherwise be stored
// under the old hash, and every later file with that content (dedup!) would reference
// the wrong bytes. Downloads are not checked here: the applier verifies what it writes.
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';

export interface StoredContent {
  readonly hash: string;
  readonly size: number;
  /** When the object was written: the garbage collector's grace period starts here. */
  readonly lastModified: Date;
}

export interface ContentStore {
  /** The object's size and write time, or undefined when the store does not hold it. */
  stat(hash: string): Promise<StoredContent | undefined>;
  /** Streams `filePath` (expected to hold `size` bytes hashing to `hash`) into the store. */
  /** `filePath` in canonical text (schemas/name-bytes.ts): a source file's own path may hold escaped bytes. */
  putFile(hash: string, filePath: string, size: number): Promise<void>;
  putBuffer(hash: string, data: Buffer): Promise<void>;
  /** The whole content, refused with ContentTooLargeError beyond `maxBytes`. */
  getBuffer(hash: string, maxBytes: number): Promise<Buffer>;
  /**
   * Streams the content into `filePath`, created O_EXCL (nothing may be there: a symlink is
   * never followed); removed again on failure.
   */
  getToFile(hash: string, filePath: string): Promise<{ size: number }>;
  /** Every stored object whose hash starts with `hashPrefix` (lowercase hex), in hash order. */
  list(hashPrefix?: string): AsyncIterable<StoredContent>;
  /** Deletes the content; deleting absent content is not an error. */
  remove(hash: string): Promise<void>;
}

/** The store holds no content under this hash. */
export class ContentMissingError extends Error {
  constructor(readonly hash: string) {
    super(`content ${hash} is not in the store`);
    this.name = 'ContentMissingError';
  }
}

/** The content is larger than the caller agreed to hold in memory. */
export class ContentTooLargeError extends Error {
  constructor(
    readonly hash: string,
    readonly maxBytes: number,
  ) {
    super(`content ${hash} is larger than ${maxBytes} bytes`);
    this.name = 'ContentTooLargeError';
  }
}

/** The bytes offered for upload are not the ones the hash and size name (changed while read?). */
export class ContentMismatchError extends Error {
  constructor(
    readonly hash: string,
    readonly expectedSize: number,
    readonly actualHash: string | undefined,
    readonly actualSize: number,
  ) {
    super(
      `refusing to store content as ${hash}: read ${actualSize} bytes` +
        `${actualHash === undefined ? '' : ` hashing to ${actualHash}`}, ` +
        `expected ${expectedSize} bytes (the file changed while it was read?)`,
    );
    this.name = 'ContentMismatchError';
  }
}

const HEX_PREFIX = /^[0-9a-f]{0,64}$/;

export function assertHashPrefix(hashPrefix: string): void {
  if (!HEX_PREFIX.test(hashPrefix)) throw new TypeError(`not a lowercase hex prefix of a sha256: '${hashPrefix}'`);
}

export function sha256Hex(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Throws ContentMismatchError unless `data` hashes to `hash`. */
export function assertContentMatches(hash: string, data: Buffer): void {
  const actual = sha256Hex(data);
  if (actual !== hash) throw new ContentMismatchError(hash, data.length, actual, data.length);
}

/**
 * Passes bytes through while hashing them, and fails instead of ending when they are
 * not `size` bytes hashing to `hash`. It holds back the latest chunk until the check
 * passes, so a consumer that sends bytes as they come (an HTTP PUT with a
 * Content-Length) never receives the complete wrong content.
 */
export class HashCheckingStream extends Transform {
  readonly #digest = createHash('sha256');
  #held: Buffer | undefined;
  #bytes = 0;

  constructor(
    readonly hash: string,
    readonly size: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.#digest.update(chunk);
    this.#bytes += chunk.length;
    if (this.#bytes > this.size)
      return callback(new ContentMismatchError(this.hash, this.size, undefined, this.#bytes));
    const previous = this.#held;
    this.#held = chunk;
    callback(null, previous);
  }

  override _flush(callback: TransformCallback): void {
    const actual = this.#digest.digest('hex');
    if (actual !== this.hash || this.#bytes !== this.size) {
      return callback(new ContentMismatchError(this.hash, this.size, actual, this.#bytes));
    }
    callback(null, this.#held);
  }
}
