// The ContentStore contract against MinIO, the second S3 server (what compose.yaml and
// most operators deploy), served over https with a private CA made by this test: the
// store trusts it through the s3CaFile option, and refuses the server without it.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { S3ContentStore, type S3ContentStoreOptions } from '../../services/shared/s3-content-store.ts';
import { makeCertificates, minioCertsDir, type TestCertificates } from '../helpers/certs.ts';
import { sha256, testContentStore } from '../helpers/content-store-contract.ts';
import { privateStack, type PrivateStack } from '../helpers/private-stack.ts';
import { freshPrefix } from '../helpers/stack.ts';

// One MinIO for the file: hooks at module level run their `t.after`-style cleanups
// through a context of their own.
let stack: PrivateStack | undefined;
let certs: TestCertificates | undefined;
let release: (() => Promise<void>) | undefined;

before(
  async () => {
    const cleanups: Array<() => unknown> = [];
    const context = { after: (fn: () => unknown) => cleanups.push(fn) } as unknown as TestContext;
    release = async () => {
      for (const cleanup of cleanups.reverse()) await cleanup();
    };
    certs = await makeCertificates(context);
    stack = await privateStack(context, 'minio', {
      servers: ['s3'],
      s3Server: 'minio',
      s3CertsDir: minioCertsDir(certs),
    });
  },
  { timeout: 600_000 },
);

// Stops and purges the instance (and deletes the certificates), also after a failure.
after(() => release?.());

function minioOptions(overrides: Partial<S3ContentStoreOptions> = {}): S3ContentStoreOptions {
  const config = stack!.config;
  assert.match(config.s3Endpoint, /^https:\/\/127\.0\.0\.1:\d+$/);
  return {
    endpoint: config.s3Endpoint,
    accessKey: config.s3.accessKey,
    secretKey: config.s3.secretKey,
    region: config.s3.region,
    bucket: config.bucket,
    prefix: freshPrefix(),
    ca: readFileSync(certs!.caFile),
    ...overrides,
  };
}

testContentStore('s3 (MinIO over https, private CA)', async () => {
  const store = new S3ContentStore(minioOptions());
  await store.ensureBucket();
  return {
    store,
    cleanup: async () => {
      for await (const item of store.list()) await store.remove(item.hash);
      store.close();
    },
  };
});

describe('S3ContentStore on MinIO over https', () => {
  it('refuses a server whose certificate is signed by a CA it was not given', async () => {
    const { ca: _ca, ...withoutCa } = minioOptions();
    const store = new S3ContentStore({ ...withoutCa, retry: { retries: 0 } });
    try {
      await assert.rejects(
        store.putBuffer(sha256(Buffer.from('x')), Buffer.from('x')),
        /self[- ]signed|unable to verify|certificate/i,
      );
    } finally {
      store.close();
    }
  });
});
