// Real HTTP on loopback with an ephemeral port: fast, and it exercises node:http itself.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Counter } from 'prom-client';
import { CliError } from '../../services/shared/errors.ts';
import { publicReason, startServiceHttp } from '../../services/shared/http-server.ts';
import type { Readiness, ServiceHttp } from '../../services/shared/http-server.ts';
import { createMetricsRegistry } from '../../services/shared/metrics.ts';

const quietLogger = { info: () => {}, warn: () => {}, error: () => {} };

async function withServer(
  isReady: () => Readiness,
  body: (base: string, server: ServiceHttp) => Promise<void>,
): Promise<void> {
  const registry = createMetricsRegistry('test');
  new Counter({ name: 'mirrorlog_test_events_total', help: 'events seen by the test', registers: [registry] }).inc(3);
  const server = await startServiceHttp({ host: '127.0.0.1', port: 0, registry, isReady, logger: quietLogger });
  try {
    await body(`http://127.0.0.1:${server.port}`, server);
  } finally {
    await server.close();
  }
}

describe('startServiceHttp', () => {
  it('answers /healthz while running, on an ephemeral port', async () => {
    await withServer(
      () => ({ ready: false }),
      async (base, server) => {
        assert.ok(server.port > 0);
        const response = await fetch(`${base}/healthz`);
        assert.equal(response.status, 200);
        assert.equal(await response.text(), 'ok\n');
      },
    );
  });

  it('a ready service that skips something says so in /readyz, still 200', async () => {
    await withServer(
      () => ({ ready: true, reason: '2 entries cannot be read and are skipped' }),
      async (base) => {
        const response = await fetch(`${base}/readyz`);
        assert.equal(response.status, 200);
        assert.equal(await response.text(), 'ready: 2 entries cannot be read and are skipped\n');
      },
    );
  });

  it('answers /readyz with 503 and the reason until ready, then 200', async () => {
    let readiness: Readiness = { ready: false, reason: 'waiting for partition assignment' };
    await withServer(
      () => readiness,
      async (base) => {
        const notReady = await fetch(`${base}/readyz`);
        assert.equal(notReady.status, 503);
        assert.match(await notReady.text(), /waiting for partition assignment/);
        readiness = { ready: true };
        const ready = await fetch(`${base}/readyz?verbose=1`);
        assert.equal(ready.status, 200);
      },
    );
  });

  it('never shows absolute paths or temp names in /readyz reasons (L7)', async () => {
    const reason =
      'cannot apply: partition 2: ENOSPC: no space left on device, ' +
      "open '/srv/replica/site/.index.html.mirrorlog-k3j9x0ab1z2y.tmp' (state /var/lib/mirrorlog/r1)";
    await withServer(
      () => ({ ready: false, reason }),
      async (base) => {
        const text = await (await fetch(`${base}/readyz`)).text();
        assert.doesNotMatch(text, /\/srv|\/var|mirrorlog-k3j9/);
        assert.match(text, /ENOSPC: no space left on device, open '<path>' \(state <path>\)/);
      },
    );
    assert.equal(publicReason('.x.mirrorlog-abcdefgh12.tmp in the root'), '<temp file> in the root');
    assert.equal(
      publicReason('Kafka is unreachable (for 5 s: connect ECONNREFUSED 127.0.0.1:9092)'),
      'Kafka is unreachable (for 5 s: connect ECONNREFUSED 127.0.0.1:9092)',
    );
  });

  it('answers /readyz with 503 when the readiness check throws', async () => {
    await withServer(
      () => {
        throw new Error('index closed');
      },
      async (base) => {
        const response = await fetch(`${base}/readyz`);
        assert.equal(response.status, 503);
        assert.match(await response.text(), /index closed/);
      },
    );
  });

  it('serves Prometheus text with default process metrics and the service label', async () => {
    await withServer(
      () => ({ ready: true }),
      async (base) => {
        const response = await fetch(`${base}/metrics`);
        assert.equal(response.status, 200);
        assert.match(response.headers.get('content-type') ?? '', /^text\/plain/);
        const text = await response.text();
        assert.match(text, /^mirrorlog_test_events_total\{service="test"\} 3$/m);
        assert.match(text, /^mirrorlog_process_cpu_user_seconds_total/m);
        assert.match(text, /^mirrorlog_nodejs_heap_size_total_bytes/m);
      },
    );
  });

  it('answers 404 for other paths and 405 for other methods', async () => {
    await withServer(
      () => ({ ready: true }),
      async (base) => {
        assert.equal((await fetch(`${base}/metrics/x`)).status, 404);
        assert.equal((await fetch(`${base}/index.html`)).status, 404);
        const post = await fetch(`${base}/healthz`, { method: 'POST' });
        assert.equal(post.status, 405);
        assert.equal(post.headers.get('allow'), 'GET, HEAD');
      },
    );
  });

  it('exports what /readyz says as mirrorlog_ready', async () => {
    let ready = false;
    await withServer(
      () => ({ ready }),
      async (base) => {
        assert.match(await (await fetch(`${base}/metrics`)).text(), /^mirrorlog_ready\{service="test"\} 0$/m);
        ready = true;
        assert.match(await (await fetch(`${base}/metrics`)).text(), /^mirrorlog_ready\{service="test"\} 1$/m);
      },
    );
  });

  it('links the status page and its own endpoints from /', async () => {
    const registry = createMetricsRegistry('test');
    const statusUrl = 'http://127.0.0.1:9470/?a=1&b=2';
    const server = await startServiceHttp({
      host: '127.0.0.1',
      port: 0,
      registry,
      isReady: () => ({ ready: true }),
      logger: quietLogger,
      statusUrl,
    });
    try {
      const response = await fetch(`http://127.0.0.1:${server.port}/`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /text\/html/);
      const page = await response.text();
      assert.ok(page.includes('href="http://127.0.0.1:9470/?a=1&#38;b=2"'), page);
      assert.match(page, /href="metrics"/);
    } finally {
      await server.close();
    }
  });

  it('fails with a CliError naming the address and --metrics-port when the port is taken', async () => {
    await withServer(
      () => ({ ready: true }),
      async (_base, server) => {
        await assert.rejects(
          startServiceHttp({
            host: '127.0.0.1',
            port: server.port,
            registry: createMetricsRegistry('x'),
            isReady: () => ({ ready: true }),
            logger: quietLogger,
          }),
          (error: unknown) =>
            error instanceof CliError &&
            error.message.includes(`127.0.0.1:${server.port}`) &&
            /in use.*--metrics-port/.test(error.message),
        );
      },
    );
  });
});

describe('createMetricsRegistry', () => {
  it('gives each service its own registry', async () => {
    const a = createMetricsRegistry('a');
    const b = createMetricsRegistry('b');
    new Counter({ name: 'mirrorlog_only_in_a_total', help: 'x', registers: [a] });
    assert.match(await a.metrics(), /mirrorlog_only_in_a_total/);
    assert.doesNotMatch(await b.metrics(), /mirrorlog_only_in_a_total/);
  });
});
