// The ContentStore on an S3-compatible server (SeaweedFS locally, MinIO or AWS for
// operators), through the minio client. Objects are keyed by contentKey(hash, prefix).
//
// Transient failures (connection refused/reset, timeouts, 5xx-style error codes: the
// table in failure-kind.ts) are retried here with backoff, up to a bound; everything else
// (missing content, access denied, a bad upload) is thrown at once. minio's own retry is
// disabled: it retries streamed bodies it cannot replay and reports to the console.
import { fsPath } from '../../schemas/name-bytes.ts';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type http from 'node:http';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client } from 'minio';
import { contentKey, isSha256Hex } from '../../schemas/content-key.ts';
import {
  ContentMissingError,
  ContentTooLargeError,
  HashCheckingStream,
  assertContentMatches,
  assertHashPrefix,
} from './content-store.ts';
import type { ContentStore, StoredContent } from './content-store.ts';
import { isTransientFailure } from './failure-kind.ts';
import type { Logger } from './logger.ts';
import { retry } from './retry.ts';
import { createS3Client, errorCode, isMissingObject } from './s3-client.ts';
import type { S3ContentStoreOptions } from './s3-options.ts';
import { DOCUMENTS_DIR } from './tree-registry.ts';
import type { RetryOptions } from './retry.ts';

export { parseS3Endpoint, s3OptionsFromConfig, type S3ContentStoreOptions } from './s3-options.ts';

type ListedObject = Awaited<ReturnType<Client['listObjectsV2Query']>>['objects'][number];

export class S3ContentStore implements ContentStore {
  readonly #client: Client;
  readonly #agent: http.Agent;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #region: string;
  readonly #retry: Omit<RetryOptions, 'isRetryable'>;
  readonly #logger: Pick<Logger, 'warn'> | undefined;

  constructor(options: S3ContentStoreOptions) {
    const { client, agent } = createS3Client(options);
    this.#client = client;
    this.#agent = agent;
    this.#bucket = options.bucket;
    this.#prefix = options.prefix;
    this.#region = options.region;
    this.#retry = { retries: 5, minDelayMs: 200, maxDelayMs: 5000, ...options.retry };
    this.#logger = options.logger;
  }

  /** Creates the bucket unless it exists. Pass `retry` to wait longer, e.g. for a starting server. */
  async ensureBucket(retryOverride: Omit<RetryOptions, 'isRetryable'> = {}): Promise<void> {
    await this.#withRetry(
      'ensure-bucket',
      undefined,
      async () => {
        if (await this.#client.bucketExists(this.#bucket)) return;
        try {
          await this.#client.makeBucket(this.#bucket, this.#region);
        } catch (error) {
          // Another process created it between our check and our request.
          const code = errorCode(error);
          if (code === 'BucketAlreadyOwnedByYou') return;
          if (code === 'BucketAlreadyExists' && (await this.#client.bucketExists(this.#bucket))) return;
          throw error;
        }
      },
      retryOverride,
    );
  }

  async stat(hash: string): Promise<StoredContent | undefined> {
    const key = contentKey(hash, this.#prefix);
    return this.#withRetry('stat', hash, async () => {
      try {
        const { size, lastModified } = await this.#client.statObject(this.#bucket, key);
        return { hash, size, lastModified };
      } catch (error) {
        if (isMissingObject(error)) return undefined;
        throw error;
      }
    });
  }

  async putFile(hash: string, filePath: string, size: number): Promise<void> {
    const key = contentKey(hash, this.#prefix);
    // minio uploads an empty body without reading the stream: check it here instead.
    if (size === 0) return this.putBuffer(hash, Buffer.alloc(0));
    await this.#withRetry('put', hash, async () => {
      const source = createReadStream(fsPath(filePath));
      const checked = new HashCheckingStream(hash, size);
      source.on('error', (error) => checked.destroy(error));
      source.pipe(checked);
      // minio's multipart path does not listen for errors of the body stream: it would
      // neither see the check fail nor ever finish (which also means it never completes
      // the upload, so nothing wrong becomes visible). Race the stream's own error.
      const failed = new Promise<never>((_resolve, reject) => checked.once('error', reject));
      const upload = this.#client.putObject(this.#bucket, key, checked, size, {
        'Content-Type': 'application/octet-stream',
      });
      upload.catch(() => undefined); // when `failed` wins, the loser's rejection is expected
      try {
        await Promise.race([upload, failed]);
      } finally {
        source.destroy();
      }
    });
  }

  async putBuffer(hash: string, data: Buffer): Promise<void> {
    const key = contentKey(hash, this.#prefix);
    assertContentMatches(hash, data);
    await this.#withRetry('put', hash, async () => {
      await this.#client.putObject(this.#bucket, key, data, data.length, {
        'Content-Type': 'application/octet-stream',
      });
    });
  }

  async getBuffer(hash: string, maxBytes: number): Promise<Buffer> {
    return this.#withRetry('get', hash, async () => {
      const body = await this.#getObject(hash);
      const declared = Number(
        (body as Readable & { headers?: Record<string, string | undefined> }).headers?.['content-length'],
      );
      if (declared > maxBytes) {
        body.destroy();
        throw new ContentTooLargeError(hash, maxBytes);
      }
      const chunks: Buffer[] = [];
      let total = 0;
      for await (const chunk of body as AsyncIterable<Buffer>) {
        total += chunk.length;
        if (total > maxBytes) {
          body.destroy();
          throw new ContentTooLargeError(hash, maxBytes);
        }
        chunks.push(chunk);
      }
      return Buffer.concat(chunks, total);
    });
  }

  async getToFile(hash: string, filePath: string): Promise<{ size: number }> {
    return this.#withRetry('get', hash, async () => {
      const body = await this.#getObject(hash);
      // O_EXCL: nothing planted there is followed
      const file = createWriteStream(filePath, { flags: 'wx', mode: 0o600 });
      try {
        await pipeline(body, file);
      } catch (error) {
        await rm(filePath, { force: true });
        throw error;
      }
      return { size: file.bytesWritten };
    });
  }

  async *list(hashPrefix = ''): AsyncIterable<StoredContent> {
    assertHashPrefix(hashPrefix);
    const base = `${this.#prefix}sha256/`;
    const keyPrefix =
      hashPrefix.length >= 2 ? `${base}${hashPrefix.slice(0, 2)}/${hashPrefix}` : `${base}${hashPrefix}`;
    for await (const item of this.#listObjects('list', keyPrefix)) {
      if (item.name === undefined) continue;
      const hash = item.name.slice(item.name.lastIndexOf('/') + 1);
      // Anything else under the prefix is not ours to report (or to collect).
      if (!isSha256Hex(hash) || item.name !== contentKey(hash, this.#prefix)) continue;
      yield { hash, size: item.size, lastModified: item.lastModified };
    }
  }

  async remove(hash: string): Promise<void> {
    const key = contentKey(hash, this.#prefix);
    await this.#withRetry('remove', hash, async () => {
      try {
        await this.#client.removeObject(this.#bucket, key);
      } catch (error) {
        if (!isMissingObject(error)) throw error;
      }
    });
  }

  /** A small document beside the content (tree-registry.ts), under `<prefix>mirrorlog/`. */
  async putDocument(name: string, body: string): Promise<void> {
    const data = Buffer.from(body);
    await this.#withRetry('put-document', undefined, async () => {
      await this.#client.putObject(this.#bucket, this.#documentKey(name), data, data.length, {
        'Content-Type': 'application/json',
      });
    });
  }

  async getDocument(name: string): Promise<string | undefined> {
    return this.#withRetry('get-document', undefined, async () => {
      try {
        const body = await this.#client.getObject(this.#bucket, this.#documentKey(name));
        const chunks: Buffer[] = [];
        for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(chunk);
        return Buffer.concat(chunks).toString();
      } catch (error) {
        if (isMissingObject(error)) return undefined;
        throw error;
      }
    });
  }

  async removeDocument(name: string): Promise<void> {
    await this.#withRetry('remove-document', undefined, async () => {
      try {
        await this.#client.removeObject(this.#bucket, this.#documentKey(name));
      } catch (error) {
        if (!isMissingObject(error)) throw error;
      }
    });
  }

  async *listDocuments(under: string): AsyncIterable<string> {
    const base = this.#documentKey('');
    for await (const item of this.#listObjects('list-documents', `${base}${under}`))
      if (item.name !== undefined) yield item.name.slice(base.length);
  }

  /** Every object under `keyPrefix`, read a page of 1000 at a time. */
  async *#listObjects(operation: string, keyPrefix: string): AsyncIterable<ListedObject> {
    let token = '';
    do {
      const page = await this.#withRetry(operation, undefined, () =>
        this.#client.listObjectsV2Query(this.#bucket, keyPrefix, token, '', 1000, ''),
      );
      yield* page.objects;
      token = page.isTruncated ? page.nextContinuationToken : '';
    } while (token !== '');
  }

  #documentKey(name: string): string {
    return `${this.#prefix}${DOCUMENTS_DIR}${name}`;
  }

  /** Closes idle keep-alive connections so the process can exit promptly. */
  close(): void {
    this.#agent.destroy();
  }

  async #getObject(hash: string): Promise<Readable> {
    try {
      return await this.#client.getObject(this.#bucket, contentKey(hash, this.#prefix));
    } catch (error) {
      if (isMissingObject(error)) throw new ContentMissingError(hash);
      throw error;
    }
  }

  #withRetry<T>(
    operation: string,
    hash: string | undefined,
    fn: () => Promise<T>,
    override: Omit<RetryOptions, 'isRetryable'> = {},
  ): Promise<T> {
    const options = { ...this.#retry, ...override };
    return retry(fn, {
      ...options,
      isRetryable: isTransientFailure,
      onRetry: (info) => {
        this.#logger?.warn(
          { err: info.error, operation, hash, bucket: this.#bucket, retry: info.retry, delayMs: info.delayMs },
          'S3 request failed; retrying',
        );
        options.onRetry?.(info);
      },
    });
  }
}
