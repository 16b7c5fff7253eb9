// What can be checked without an S3 server: endpoint parsing, and that transport
// failures are retried and bounded (a closed loopback port, and a loopback socket that
// never answers). The behaviour against real S3 is in
// test/integration/content-store.int.test.ts; which errors are retried, in
// shared-failure-kind.test.ts.
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { describe, it } from 'node:test';
import { LOCAL_STACK } from '../../schemas/config.ts';
import { S3ContentStore, parseS3Endpoint } from '../../services/shared/s3-content-store.ts';

const HASH = 'a'.repeat(64);

function storeAt(port: number, onRetry: () => void, idleTimeoutMs = 30_000): S3ContentStore {
  return new S3ContentStore({
    endpoint: `http://127.0.0.1:${port}`,
    accessKey: LOCAL_STACK.s3AccessKey,
    secretKey: LOCAL_STACK.s3SecretKey,
    region: LOCAL_STACK.region,
    bucket: 'mirrorlog',
    prefix: 'unit/',
    idleTimeoutMs,
    retry: { retries: 2, minDelayMs: 1, maxDelayMs: 2, onRetry },
  });
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('parseS3Endpoint', () => {
  it('reads host, port and TLS from the URL', () => {
    assert.deepEqual(parseS3Endpoint('http://127.0.0.1:8333'), { endPoint: '127.0.0.1', port: 8333, useSSL: false });
    assert.deepEqual(parseS3Endpoint('https://s3.example.com'), {
      endPoint: 's3.example.com',
      port: 443,
      useSSL: true,
    });
    assert.deepEqual(parseS3Endpoint('http://minio/'), { endPoint: 'minio', port: 80, useSSL: false });
    assert.deepEqual(parseS3Endpoint('http://[::1]:9000'), { endPoint: '::1', port: 9000, useSSL: false });
  });

  it('rejects other schemes and paths', () => {
    assert.throws(() => parseS3Endpoint('ftp://host'), TypeError);
    assert.throws(() => parseS3Endpoint('http://host/bucket'), TypeError);
  });
});

describe('S3ContentStore transport failures', () => {
  it('retries a refused connection up to the bound, then throws it', async () => {
    let retries = 0;
    const store = storeAt(await freePort(), () => (retries += 1));
    await assert.rejects(store.stat(HASH), { code: 'ECONNREFUSED' });
    assert.equal(retries, 2);
    store.close();
  });

  it('aborts and retries a request on which the server stays silent', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    let retries = 0;
    const store = storeAt((silent.address() as AddressInfo).port, () => (retries += 1), 100);
    try {
      const started = Date.now();
      await assert.rejects(store.getBuffer(HASH, 10), { code: 'S3_IDLE_TIMEOUT' });
      assert.equal(retries, 2);
      assert.ok(Date.now() - started < 5000);
    } finally {
      store.close();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    }
  });

  it('rejects a bad hash before any request', async () => {
    let retries = 0;
    const store = storeAt(await freePort(), () => (retries += 1));
    await assert.rejects(store.getBuffer('nope', 1), TypeError);
    assert.equal(retries, 0);
    store.close();
  });
});
