// The ContentStore on an S3-compatible server (SeaweedFS locally, MinIO or AWS for
// operators), through the minio client. Objects are keyed by contentKey(hash, prefix).
//
// Transient failures (connection refused/reset, timeouts, 5xx-style error codes: the
// table in failure-kind.ts) are retried here with backoff, up to a bound; everything else
// (missing content, access denied, a bad upload) is thrown at once. minio's own retry is
// disabled: it retries streamed bodies it cannot replay and reports to the console.
import { createReadStream, createWriteStream, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Client } from 'minio';
import type { CommonConfig } from '../../schemas/config.ts';
import { contentKey, isSha256Hex } from '../../schemas/content-key.ts';
import {
  ContentMissingError,
  ContentTooLargeError,
  HashCheckingStream,
  assertContentMatches,
  assertHashPrefix,
} from './content-store.ts';
import type { ContentStore, StoredContent } from './content-store.ts';
import { CliError } from './errors.ts';
import { isTransientFailure } from './failure-kind.ts';
import type { Logger } from './logger.ts';
import { retry } from './retry.ts';
import { DOCUMENTS_DIR } from './tree-registry.ts';
import type { RetryOptions } from './retry.ts';

export interface S3ContentStoreOptions {
  /** `http://host:port` or `https://host[:port]`. */
  readonly endpoint: string;
  readonly accessKey: string;
  readonly secretKey: string;
  readonly region: string;
  readonly bucket: string;
  /** Key prefix, empty or ending in '/'. */
  readonly prefix: string;
  /**
   * minio buffers a whole object up to this size, and uploads larger ones in parts of
   * this size: it bounds the memory of one upload. Default 8 MiB (largest object: 10,000 parts = 80 GiB).
   */
  readonly partSize?: number;
  /** A request with no bytes moving for this long is aborted and retried. Default 30 s. */
  readonly idleTimeoutMs?: number;
  /** Backoff for transient errors. Default: 5 retries, 200 ms doubling up to 5 s. */
  readonly retry?: Omit<RetryOptions, 'isRetryable'>;
  readonly logger?: Pick<Logger, 'warn'>;
  /** A private CA (PEM) trusted for an https endpoint, beside the system's CAs. */
  readonly ca?: Buffer;
  /** Path-style addressing (default) or virtual-hosted (`bucket.host`, AWS S3). */
  readonly pathStyle?: boolean;
}

/** Store options from the common config (flags/env/file). */
export function s3OptionsFromConfig(
  config: Pick<
    CommonConfig,
    's3Endpoint' | 's3AccessKey' | 's3SecretKey' | 's3Region' | 'bucket' | 's3Prefix' | 's3CaFile'
  > & { s3PathStyle?: boolean },
  read: (path: string) => Buffer = readFileSync,
): S3ContentStoreOptions {
  return {
    ...(config.s3CaFile === undefined ? {} : { ca: readS3Ca(config.s3CaFile, read) }),
    pathStyle: config.s3PathStyle ?? true,
    endpoint: config.s3Endpoint,
    accessKey: config.s3AccessKey,
    secretKey: config.s3SecretKey,
    region: config.s3Region,
    bucket: config.bucket,
    prefix: config.s3Prefix,
  };
}

function readS3Ca(path: string, read: (path: string) => Buffer): Buffer {
  try {
    return read(path);
  } catch (error) {
    throw new CliError(
      `--s3-ca-file (MIRRORLOG_S3_CA_FILE): cannot read ${path}: ` +
        `${(error as { code?: string }).code ?? (error as Error).message}`,
    );
  }
}

export function parseS3Endpoint(endpoint: string): { endPoint: string; port: number; useSSL: boolean } {
  const url = new URL(endpoint);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TypeError(`S3 endpoint must be http:// or https://, got '${endpoint}'`);
  if (url.pathname !== '/' && url.pathname !== '')
    throw new TypeError(`S3 endpoint must not have a path (path-style addressing adds the bucket), got '${endpoint}'`);
  const useSSL = url.protocol === 'https:';
  return {
    endPoint: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port === '' ? (useSSL ? 443 : 80) : Number(url.port),
    useSSL,
  };
}

const MISSING_CODES = new Set(['NoSuchKey', 'NotFound']);

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** http(s).request with an idle timeout: minio sets none, so a hung server would hang us. */
function idleTimeoutTransport(useSSL: boolean, idleTimeoutMs: number): Pick<typeof http, 'request'> {
  const base = useSSL ? https : http;
  const request = (options: http.RequestOptions, callback?: (response: http.IncomingMessage) => void) => {
    const req = base.request(options, callback);
    req.setTimeout(idleTimeoutMs, () => {
      req.destroy(Object.assign(new Error(`S3 request idle for ${idleTimeoutMs} ms`), { code: 'S3_IDLE_TIMEOUT' }));
    });
    return req;
  };
  return { request: request as typeof http.request };
}

export class S3ContentStore implements ContentStore {
  readonly #client: Client;
  readonly #agent: http.Agent;
  readonly #bucket: string;
  readonly #prefix: string;
  readonly #region: string;
  readonly #retry: Omit<RetryOptions, 'isRetryable'>;
  readonly #logger: Pick<Logger, 'warn'> | undefined;

  constructor(options: S3ContentStoreOptions) {
    const { endPoint, port, useSSL } = parseS3Endpoint(options.endpoint);
    this.#agent = useSSL
      ? new https.Agent({
          keepAlive: true,
          ...(options.ca === undefined ? {} : { ca: [...rootCertificates, options.ca.toString('utf8')] }),
        })
      : new http.Agent({ keepAlive: true });
    this.#client = new Client({
      endPoint,
      port,
      useSSL,
      accessKey: options.accessKey,
      secretKey: options.secretKey,
      // A fixed region skips the bucket-location lookup (SeaweedFS answers it oddly).
      region: options.region,
      pathStyle: options.pathStyle ?? true,
      partSize: options.partSize ?? 8 * 1024 * 1024,
      transport: idleTimeoutTransport(useSSL, options.idleTimeoutMs ?? 30_000),
      transportAgent: this.#agent,
      retryOptions: { disableRetry: true },
    });
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
        if (MISSING_CODES.has(errorCode(error) ?? '')) return undefined;
        throw error;
      }
    });
  }

  async putFile(hash: string, filePath: string, size: number): Promise<void> {
    const key = contentKey(hash, this.#prefix);
    // minio uploads an empty body without reading the stream: check it here instead.
    if (size === 0) return this.putBuffer(hash, Buffer.alloc(0));
    await this.#withRetry('put', hash, async () => {
      const source = createReadStream(filePath);
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
    let token = '';
    do {
      const page = await this.#withRetry('list', undefined, () =>
        this.#client.listObjectsV2Query(this.#bucket, keyPrefix, token, '', 1000, ''),
      );
      for (const item of page.objects) {
        if (item.name === undefined) continue;
        const hash = item.name.slice(item.name.lastIndexOf('/') + 1);
        // Anything else under the prefix is not ours to report (or to collect).
        if (!isSha256Hex(hash) || item.name !== contentKey(hash, this.#prefix)) continue;
        yield { hash, size: item.size, lastModified: item.lastModified };
      }
      token = page.isTruncated ? page.nextContinuationToken : '';
    } while (token !== '');
  }

  async remove(hash: string): Promise<void> {
    const key = contentKey(hash, this.#prefix);
    await this.#withRetry('remove', hash, async () => {
      try {
        await this.#client.removeObject(this.#bucket, key);
      } catch (error) {
        if (!MISSING_CODES.has(errorCode(error) ?? '')) throw error;
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
        if (MISSING_CODES.has(errorCode(error) ?? '')) return undefined;
        throw error;
      }
    });
  }

  async removeDocument(name: string): Promise<void> {
    await this.#withRetry('remove-document', undefined, async () => {
      try {
        await this.#client.removeObject(this.#bucket, this.#documentKey(name));
      } catch (error) {
        if (!MISSING_CODES.has(errorCode(error) ?? '')) throw error;
      }
    });
  }

  async *listDocuments(under: string): AsyncIterable<string> {
    const base = this.#documentKey('');
    let token = '';
    do {
      const page = await this.#withRetry('list-documents', undefined, () =>
        this.#client.listObjectsV2Query(this.#bucket, `${base}${under}`, token, '', 1000, ''),
      );
      for (const item of page.objects) if (item.name !== undefined) yield item.name.slice(base.length);
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
      if (MISSING_CODES.has(errorCode(error) ?? '')) throw new ContentMissingError(hash);
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
