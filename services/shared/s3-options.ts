// Where and how to reach the S3 store: the options of S3ContentStore, taken from the common
// config, and the endpoint URL checked and taken apart for the minio client.
import { readFileSync } from 'node:fs';
import type { CommonConfig } from '../../schemas/config.ts';
import { CliError } from './errors.ts';
import type { Logger } from './logger.ts';
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
