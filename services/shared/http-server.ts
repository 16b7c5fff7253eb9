// The small HTTP endpoint every service exposes: liveness, readiness and Prometheus
// metrics. Plain node:http: three routes do not justify a framework.
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Gauge, type Registry } from 'prom-client';
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
  /** The status page (`mirrorlog status --serve`), linked from `/`. */
  readonly statusUrl?: string;
}

export interface ServiceHttp {
  readonly port: number;
  close(): Promise<void>;
}

function send(response: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  response.writeHead(status, {
    'content-type': contentType,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** `/`: what this port serves, and where the status page of the whole chain is. */
function rootPage(statusUrl: string | undefined): string {
  const status =
    statusUrl === undefined
      ? ''
      : `<p><a href="${escapeHtml(statusUrl)}">Status page</a> of every replica and the producer ` +
        '(served by <code>mirrorlog status --serve</code>; <code>--status-url</code> says where).</p>';
  return [
    '<!doctype html><html><head><meta charset="utf-8"><title>mirrorlog</title></head><body>',
    '<h1>mirrorlog</h1>',
    status,
    '<ul><li><a href="healthz">/healthz</a>: alive</li><li><a href="readyz">/readyz</a>: ready, or why not</li>',
    '<li><a href="metrics">/metrics</a>: Prometheus metrics</li></ul></body></html>',
    '',
  ].join('\n');
}

const TEMP_NAME = /\.[^\s'"/]*mirrorlog-[0-9a-z]+\.tmp/g;
const ABSOLUTE_PATH = /(^|[\s'"(=:])\/[^\s'")]*/g;

/**
 * A reason as /readyz shows it: anyone who can reach the port reads it, so absolute paths
 * (the machine's layout) and temp names (what an attacker would need to race the applier)
 * are left out (issue 20, L7); the logs keep the full error.
 */
export function publicReason(reason: string): string {
  return reason.replace(ABSOLUTE_PATH, '$1<path>').replace(TEMP_NAME, '<temp file>');
}

function readinessOf(isReady: () => Readiness): Readiness {
  let readiness: Readiness;
  try {
    readiness = isReady();
  } catch (error) {
    readiness = {
      ready: false,
      reason: `readiness check failed: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  return readiness.reason === undefined ? readiness : { ...readiness, reason: publicReason(readiness.reason) };
}

async function route(request: IncomingMessage, response: ServerResponse, options: ServiceHttpOptions): Promise<void> {
  const path = new URL(request.url ?? '/', 'http://service.invalid').pathname;
  const known = path === '/' || path === '/healthz' || path === '/readyz' || path === '/metrics';
  if (!known) return send(response, 404, 'not found\n');
  if (request.method !== 'GET' && request.method !== 'HEAD') {
    response.setHeader('allow', 'GET, HEAD');
    return send(response, 405, 'method not allowed\n');
  }
  switch (path) {
    case '/healthz':
      // Liveness: answering at all means the event loop runs.
      return send(response, 200, 'ok\n');
    case '/':
      return send(response, 200, rootPage(options.statusUrl), 'text/html; charset=utf-8');
    case '/readyz': {
      const readiness = readinessOf(options.isReady);
      // A ready service may carry a note (what it skips); a not-ready one, why.
      if (readiness.ready)
        return send(response, 200, readiness.reason === undefined ? 'ready\n' : `ready: ${readiness.reason}\n`);
      return send(response, 503, `not ready: ${readiness.reason ?? 'starting'}\n`);
    }
    default:
      return send(response, 200, await options.registry.metrics(), options.registry.contentType);
  }
}

export const READY_METRIC = 'mirrorlog_ready';

/** `mirrorlog_ready`: what /readyz says, as a metric alert rules and dashboards can use (1 ready, 0 not). */
export function registerReadiness(registry: Registry, isReady: () => Readiness): void {
  if (registry.getSingleMetric(READY_METRIC) !== undefined) return;
  new Gauge({
    name: READY_METRIC,
    help: 'Whether the service is ready (1) or not (0), as /readyz answers',
    registers: [registry],
    collect() {
      this.set(readinessOf(isReady).ready ? 1 : 0);
    },
  });
}

/** Starts `/healthz`, `/readyz` and `/metrics` on host:port; resolves once listening. */
export async function startServiceHttp(options: ServiceHttpOptions): Promise<ServiceHttp> {
  registerReadiness(options.registry, options.isReady);
  const server = createServer((request, response) => {
    route(request, response, options).catch((error: unknown) => {
      options.logger.error({ err: error, url: request.url }, 'http request failed');
      if (!response.headersSent) send(response, 500, 'internal error\n');
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      const reason =
        error.code === 'EADDRINUSE' ? 'the port is in use (choose another with --metrics-port)' : error.message;
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
