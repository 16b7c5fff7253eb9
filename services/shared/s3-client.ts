// The minio client under S3ContentStore: keep-alive connections (trusting a private CA
// when given), an idle timeout on every request, and minio's own retry off (the store
// retries, see s3-content-store.ts). Also what minio's errors mean to the store.
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { Client } from 'minio';
import { parseS3Endpoint, type S3ContentStoreOptions } from './s3-options.ts';

const MISSING_CODES = new Set(['NoSuchKey', 'NotFound']);

export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The object (or bucket) asked for does not exist. */
export function isMissingObject(error: unknown): boolean {
  return MISSING_CODES.has(errorCode(error) ?? '');
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

/** A minio client for `options`, and the agent holding its connections (destroy it to close them). */
export function createS3Client(options: S3ContentStoreOptions): { client: Client; agent: http.Agent } {
  const { endPoint, port, useSSL } = parseS3Endpoint(options.endpoint);
  const agent = useSSL
    ? new https.Agent({
        keepAlive: true,
        ...(options.ca === undefined ? {} : { ca: [...rootCertificates, options.ca.toString('utf8')] }),
      })
    : new http.Agent({ keepAlive: true });
  const client = new Client({
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
    transportAgent: agent,
    retryOptions: { disableRetry: true },
  });
  return { client, agent };
}
