// The small HTTP endpoint every service exposes: liveness, readiness and Prometheus
// metrics. Plain node:http: three routes do not justify a framework.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { CliError } from './errors.ts';
import type { Logger } from './logger.ts';

export interface Readiness {
  readonly ready: boolean;
  /** Why the service is not ready, e.g. "waiting for partition assignment"; when ready, a note (what it skips). */
  readonly reason?: string;
}

export interface ServiceHttpOptions {
  readonly host: string;
  /** 0 picks a free port (tests); the chosen one is returned. */
  readonly port: number;
  readonly registry: Registry;
  readonly isReady: () => Readiness;
  readonly logger: Pick<Logger, 'info' | 'warn' | 'error'>;
}

export interface ServiceHttp {
  readonly port: number;
  close(): Promise<void>;
}

function send(response: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  response.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}

function readinessOf(isReady: () => Readiness): Readiness {
  try {
    return isReady();
  } catch (error) {
    return { ready: false, reason: `readiness check failed: ${error instanceof Error ? error.message : String(error)}` };
  }
}

async function route(request: IncomingMessage, response: ServerResponse, options: ServiceHttpOptions): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://service.invalid').pathname;
  const known = path === '/healthz' || path === '/readyz' || path === '/metrics';
  if (!known) return send(response, 404, 'not found\n');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    return send(response, 405, 'method not allowed\n');
  }
  switch (path) {
    case '/healthz':
      // Liveness: answering at all means the event loop runs.
      return send(response, 200, 'ok\n');
    case '/readyz': {
      const readiness = readinessOf(options.isReady);
      // A ready service may carry a note (what it skips); a not-ready one, why.
      if (readiness.ready) return send(response, 200, readiness.reason === undefined ? 'ready\n' : `ready: ${readiness.reason}\n`);
      return send(response, 503, `not ready: ${readiness.reason ?? 'starting'}\n`);
    }
    default:
      return send(response, 200, await options.registry.metrics(), options.registry.contentType);
  }
}

/** Starts `/healthz`, `/readyz` and `/metrics` on host:port; resolves once listening. */
export async function startServiceHttp(options: ServiceHttpOptions): Promise<ServiceHttp> {
  const server = createServer((request, response) => {
    route(request, response, options).catch((error: unknown) => {
      options.logger.error({ err: error, url: request.url }, 'http request failed');
      if (!response.headersSent) send(response, 500, 'internal error\n');
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'EADDRINUSE' ? 'the port is in use' : error.message;
      reject(new CliError(`cannot serve metrics/health on ${options.host}:${options.port}: ${reason}`));
    };
    server.once('error', onError);
    server.listen(options.port, options.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (error) => options.logger.error({ err: error }, 'http server error'));
  const port = (server.address() as AddressInfo).port;
  options.logger.info({ host: options.host, port }, 'serving /healthz, /readyz and /metrics');
  return {
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // A scraper's keep-alive connection would otherwise hold close() open.
        server.closeAllConnections();
      }),
  };
}
