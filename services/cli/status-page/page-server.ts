// The status page's HTTP side: the page and its script, uPlot from node_modules, the
// current model with the last hour of plot points (/api/status), and server-sent events
// with each new tick (/events). Plain node:http, like the services' metrics port.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { CliError } from '../../shared/errors.ts';
import type { PageModel, SeriesPoint } from './page-model.ts';

export type PageState = { model(): PageModel | undefined; series(): SeriesPoint[] };

export type PageServer = { port: number; publish(model: PageModel, point: SeriesPoint): void; close(): Promise<void> };

// The assets are plain files beside the sources (no build step for them); `npm run build` copies them into
// dist/, and an install compiled without that copy still finds them in its checkout.
const ASSET_DIRS = ['./assets/', '../../../../services/cli/status-page/assets/'].map((dir) =>
  fileURLToPath(new URL(dir, import.meta.url)),
);

function assetDir(): string {
  const found = ASSET_DIRS.find((dir) => existsSync(`${dir}index.html`));
  if (found === undefined)
    throw new CliError(`the status page's files are missing (looked in ${ASSET_DIRS.join(', ')})`);
  return found;
}

const require = createRequire(import.meta.url);

function files(): Record<string, { path: string; type: string }> {
  const dir = assetDir();
  return {
    '/': { path: `${dir}index.html`, type: 'text/html; charset=utf-8' },
    '/app.js': { path: `${dir}app.js`, type: 'text/javascript; charset=utf-8' },
    '/style.css': { path: `${dir}style.css`, type: 'text/css; charset=utf-8' },
    '/uplot.js': { path: require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
    '/uplot.css': { path: require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
  };
}

function send(response: ServerResponse, status: number, body: string | Buffer, type: string): void {
  response.writeHead(status, {
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  });
  response.end(body);
}

export async function startPageServer(options: { host: string; port: number; state: PageState }): Promise<PageServer> {
  const routes = files();
  const clients = new Set<ServerResponse>();
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://page.invalid').pathname;
    if (request.method !== 'GET') return send(response, 405, 'method not allowed\n', 'text/plain');
    if (path === '/api/status') {
      return send(
        response,
        200,
        JSON.stringify({ model: options.state.model() ?? null, series: options.state.series() }),
        'application/json',
      );
    }
    if (path === '/events') {
      response.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-store',
        connection: 'keep-alive',
      });
      response.write('retry: 2000\n\n');
      clients.add(response);
      request.once('close', () => clients.delete(response));
      return;
    }
    if (path === '/healthz') return send(response, 200, 'ok\n', 'text/plain');
    const file = routes[path];
    if (file === undefined) return send(response, 404, 'not found\n', 'text/plain');
    readFile(file.path).then(
      (body) => send(response, 200, body, file.type),
      (error: unknown) => send(response, 500, `cannot read ${path}: ${String(error)}\n`, 'text/plain'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const reason = error.code === 'EADDRINUSE' ? 'the port is in use (choose another with --port)' : error.message;
      reject(new CliError(`cannot serve the status page on ${options.host}:${options.port}: ${reason}`));
    });
    server.listen(options.port, options.host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    publish(model, point) {
      const frame = `data: ${JSON.stringify({ model, point })}\n\n`;
      for (const client of clients) client.write(frame);
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const client of clients) client.end();
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
