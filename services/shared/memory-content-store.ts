// A ContentStore in memory, for unit and model tests. It honours the same contract as
// the S3 store (the shared contract suite runs against both), including the upload
// check, so a test that passes here does not rely on a fake being more lenient.
import { fsPath } from '../../schemas/name-bytes.ts';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { contentKey } from '../../schemas/content-key.ts';
import {
  ContentMissingError,
  ContentTooLargeError,
  HashCheckingStream,
  assertContentMatches,
  assertHashPrefix,
} from './content-store.ts';
import type { ContentStore, StoredContent } from './content-store.ts';

interface MemoryObject {
  readonly data: Buffer;
  readonly lastModified: Date;
}

export interface MemoryContentStoreOptions {
  /** Clock for `lastModified`; tests of the garbage collector's grace period inject one. */
  readonly now?: () => Date;
}

export class MemoryContentStore implements ContentStore {
  readonly #objects = new Map<string, MemoryObject>();
  readonly #now: () => Date;

  constructor(options: MemoryContentStoreOptions = {}) {
    this.#now = options.now ?? (() => new Date());
  }

  /** Number of stored objects, for assertions. */
  get size(): number {
    return this.#objects.size;
  }

  async stat(hash: string): Promise<StoredContent | undefined> {
    contentKey(hash); // validates the hash the same way the S3 store does
    const object = this.#objects.get(hash);
    return object === undefined ? undefined : { hash, size: object.data.length, lastModified: object.lastModified };
  }

  async putFile(hash: string, filePath: string, size: number): Promise<void> {
    contentKey(hash);
    const chunks: Buffer[] = [];
    const collect = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        chunks.push(chunk);
        callback();
      },
    });
    await pipeline(createReadStream(fsPath(filePath)), new HashCheckingStream(hash, size), collect);
    this.#store(hash, Buffer.concat(chunks));
  }

  async putBuffer(hash: string, data: Buffer): Promise<void> {
    contentKey(hash);
    assertContentMatches(hash, data);
    this.#store(hash, Buffer.from(data));
  }

  async getBuffer(hash: string, maxBytes: number): Promise<Buffer> {
    const object = this.#get(hash);
    if (object.data.length > maxBytes) throw new ContentTooLargeError(hash, maxBytes);
    return Buffer.from(object.data);
  }

  async getToFile(hash: string, filePath: string): Promise<{ size: number }> {
    const object = this.#get(hash);
    await writeFile(filePath, object.data, { flag: 'wx', mode: 0o600 });
    return { size: object.data.length };
  }

  async *list(hashPrefix = ''): AsyncIterable<StoredContent> {
    assertHashPrefix(hashPrefix);
    const hashes = [...this.#objects.keys()].filter((hash) => hash.startsWith(hashPrefix)).sort();
    for (const hash of hashes) {
      const object = this.#objects.get(hash);
      if (object !== undefined) yield { hash, size: object.data.length, lastModified: object.lastModified };
    }
  }

  readonly #documents = new Map<string, string>();

  async putDocument(name: string, body: string): Promise<void> {
    this.#documents.set(name, body);
  }

  async getDocument(name: string): Promise<string | undefined> {
    return this.#documents.get(name);
  }

  async removeDocument(name: string): Promise<void> {
    this.#documents.delete(name);
  }

  async *listDocuments(under: string): AsyncIterable<string> {
    for (const name of [...this.#documents.keys()].sort()) if (name.startsWith(under)) yield name;
  }

  async remove(hash: string): Promise<void> {
    contentKey(hash);
    this.#objects.delete(hash);
  }

  #store(hash: string, data: Buffer): void {
    this.#objects.set(hash, { data, lastModified: this.#now() });
  }

  #get(hash: string): MemoryObject {
    contentKey(hash);
    const object = this.#objects.get(hash);
    if (object === undefined) throw new ContentMissingError(hash);
    return object;
  }
}
