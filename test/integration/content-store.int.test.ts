// The ContentStore contract against the real S3 server of the local stack, plus what
// only S3 has: the object key layout, bucket creation, foreign keys under the prefix.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { contentKey } from '../../schemas/content-key.ts';
import { S3ContentStore } from '../../services/shared/s3-content-store.ts';
import { sha256, testContentStore } from '../helpers/content-store-contract.ts';
import { minioClient, readAll, stackStoreOptions } from '../helpers/stack.ts';

async function removeEverything(store: S3ContentStore): Promise<void> {
  for await (const item of store.list()) await store.remove(item.hash);
}

testContentStore('s3 (local stack)', async () => {
  const store = new S3ContentStore(stackStoreOptions());
  await store.ensureBucket();
  return {
    store,
    cleanup: async () => {
      await removeEverything(store);
      store.close();
    },
  };
});

describe('S3ContentStore on the local stack', () => {
  it('stores content under contentKey(hash, prefix)', async (t) => {
    const options = stackStoreOptions();
    const store = new S3ContentStore(options);
    t.after(async () => {
      await removeEverything(store);
      store.close();
    });
    const data = Buffer.from('where does it live?');
    const hash = sha256(data);
    await store.putBuffer(hash, data);
    const key = contentKey(hash, options.prefix);
    assert.equal(key, `${options.prefix}sha256/${hash.slice(0, 2)}/${hash}`);
    const body = await minioClient(t).getObject(options.bucket, key);
    assert.deepEqual(await readAll(body), data);
  });

  it('lists only well-formed content keys under its prefix', async (t) => {
    const options = stackStoreOptions();
    const store = new S3ContentStore(options);
    const minio = minioClient(t);
    const data = Buffer.from('listed');
    const hash = sha256(data);
    const foreign = [
      `${options.prefix}sha256/${hash.slice(0, 2)}/not-a-hash`,
      `${options.prefix}sha256/00/${hash}`,
      `${options.prefix}other.txt`,
    ];
    t.after(async () => {
      await minio.removeObjects(options.bucket, foreign);
      await removeEverything(store);
      store.close();
    });
    await store.putBuffer(hash, data);
    for (const key of foreign) await minio.putObject(options.bucket, key, Buffer.from('x'));
    const listed: string[] = [];
    for await (const item of store.list()) listed.push(item.hash);
    assert.deepEqual(listed, [hash]);
  });

  it('creates a missing bucket, and concurrent calls agree', async (t) => {
    const bucket = `test-${randomUUID()}`;
    const store = new S3ContentStore(stackStoreOptions({ bucket }));
    const minio = minioClient(t);
    t.after(async () => {
      await removeEverything(store);
      if (await minio.bucketExists(bucket)) await minio.removeBucket(bucket);
      store.close();
    });
    assert.equal(await minio.bucketExists(bucket), false);
    await Promise.all([store.ensureBucket(), store.ensureBucket()]);
    assert.equal(await minio.bucketExists(bucket), true);
    await store.ensureBucket();
    const data = Buffer.from('in a new bucket');
    await store.putBuffer(sha256(data), data);
    assert.notEqual(await store.stat(sha256(data)), undefined);
  });

  it('fails at once, without retrying, on wrong credentials', async (t) => {
    let retries = 0;
    const store = new S3ContentStore(
      stackStoreOptions({
        secretKey: 'not-the-secret',
        retry: { retries: 3, minDelayMs: 1, onRetry: () => (retries += 1) },
      }),
    );
    t.after(() => store.close());
    await assert.rejects(store.stat('0'.repeat(64)), (error: unknown) => !String(error).includes('not-the-secret'));
    assert.equal(retries, 0);
  });
});
