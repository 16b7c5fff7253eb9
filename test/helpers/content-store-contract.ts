// One behavioural contract for every ContentStore: run against the memory store in a
// unit test and against real S3 in an integration test, so the fake stays honest.
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  ContentMismatchError,
  ContentMissingError,
  ContentTooLargeError,
} from '../../services/shared/content-store.ts';
import type { ContentStore, StoredContent } from '../../services/shared/content-store.ts';

export interface ContentStoreUnderTest {
  readonly store: ContentStore;
  /** Releases what the factory made (objects under a test prefix, clients). */
  readonly cleanup?: () => Promise<void>;
}

/** Large enough to cross the S3 store's 8 MiB part size, so the multipart path runs too. */
const LARGE_SIZE = 9 * 1024 * 1024 + 123;

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

async function collect(iterable: AsyncIterable<StoredContent>): Promise<StoredContent[]> {
  const items: StoredContent[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

export function testContentStore(name: string, factory: () => Promise<ContentStoreUnderTest>): void {
  describe(`ContentStore contract: ${name}`, () => {
    let subject: ContentStoreUnderTest;
    let store: ContentStore;
    let dir: string;

    before(async () => {
      subject = await factory();
      store = subject.store;
      dir = await mkdtemp(join(tmpdir(), 'mirrorlog-content-'));
    });
    after(async () => {
      await subject?.cleanup?.();
      if (dir !== undefined) await rm(dir, { recursive: true, force: true });
    });

    it('stores a buffer and gives the same bytes back', async () => {
      const data = randomBytes(1000);
      const hash = sha256(data);
      assert.equal(await store.stat(hash), undefined);
      const before = Date.now();
      await store.putBuffer(hash, data);
      const stored = await store.stat(hash);
      assert.equal(stored?.hash, hash);
      assert.equal(stored?.size, 1000);
      // S3 keeps whole seconds; the store's clock may differ from ours by a little.
      assert.ok(
        Math.abs(stored.lastModified.getTime() - before) < 60_000,
        `written at ${stored.lastModified.toISOString()}`,
      );
      assert.deepEqual(await store.getBuffer(hash, 1000), data);
    });

    it('stores empty content', async () => {
      const empty = Buffer.alloc(0);
      const hash = sha256(empty);
      await store.putBuffer(hash, empty);
      assert.equal((await store.getBuffer(hash, 0)).length, 0);
      const file = join(dir, 'empty-upload');
      await writeFile(file, empty);
      await store.putFile(hash, file, 0);
      assert.deepEqual(await store.getToFile(hash, join(dir, 'empty-download')), { size: 0 });
    });

    it('streams a large file in and out', async () => {
      const data = randomBytes(LARGE_SIZE);
      const hash = sha256(data);
      const source = join(dir, 'large-upload');
      await writeFile(source, data);
      await store.putFile(hash, source, data.length);
      const target = join(dir, 'large-download');
      assert.deepEqual(await store.getToFile(hash, target), { size: data.length });
      assert.equal(sha256(await readFile(target)), hash);
    });

    it('never writes through something at the download path (a symlink planted there)', async () => {
      const data = Buffer.from('short');
      const hash = sha256(data);
      await store.putBuffer(hash, data);
      const outside = join(dir, 'outside');
      await writeFile(outside, 'precious');
      const target = join(dir, 'planted');
      await symlink(outside, target);
      await assert.rejects(
        store.getToFile(hash, target),
        (error) => (error as NodeJS.ErrnoException).code === 'EEXIST',
      );
      assert.equal(await readFile(outside, 'utf8'), 'precious');
    });

    it('putting the same content twice is harmless', async () => {
      const data = Buffer.from('twice');
      const hash = sha256(data);
      await store.putBuffer(hash, data);
      await store.putBuffer(hash, data);
      assert.deepEqual(await store.getBuffer(hash, 100), data);
    });

    it('reports missing content with a typed error naming the hash', async () => {
      const hash = sha256(randomBytes(16));
      await assert.rejects(
        store.getBuffer(hash, 100),
        (error) => error instanceof ContentMissingError && error.hash === hash,
      );
      const target = join(dir, 'never-written');
      await assert.rejects(
        store.getToFile(hash, target),
        (error) => error instanceof ContentMissingError && error.hash === hash,
      );
      await assert.rejects(stat(target), { code: 'ENOENT' });
    });

    it('refuses to load content larger than the caller allows', async () => {
      const data = randomBytes(5000);
      const hash = sha256(data);
      await store.putBuffer(hash, data);
      await assert.rejects(
        store.getBuffer(hash, 4999),
        (error) => error instanceof ContentTooLargeError && error.hash === hash,
      );
      assert.equal((await store.getBuffer(hash, 5000)).length, 5000);
    });

    it('refuses a buffer that does not hash to its name', async () => {
      const hash = sha256(Buffer.from('what the caller hashed'));
      await assert.rejects(store.putBuffer(hash, Buffer.from('something else')), ContentMismatchError);
      assert.equal(await store.stat(hash), undefined);
    });

    it('refuses a file that changed after it was hashed, small or large', async () => {
      for (const size of [100, LARGE_SIZE]) {
        const hashed = randomBytes(size);
        const hash = sha256(hashed);
        const changed = Buffer.from(hashed);
        changed[size - 1] = (changed[size - 1]! + 1) % 256;
        const file = join(dir, `changed-${size}`);
        await writeFile(file, changed);
        await assert.rejects(store.putFile(hash, file, size), ContentMismatchError);
        await writeFile(file, hashed.subarray(0, size - 1));
        await assert.rejects(store.putFile(hash, file, size), ContentMismatchError, 'shorter than announced');
        await writeFile(file, Buffer.concat([hashed, Buffer.from('x')]));
        await assert.rejects(store.putFile(hash, file, size), ContentMismatchError, 'longer than announced');
        assert.equal(await store.stat(hash), undefined);
      }
    });

    it('fails on an unreadable source file without storing anything', async () => {
      const hash = sha256(Buffer.from('nowhere'));
      await assert.rejects(store.putFile(hash, join(dir, 'does-not-exist'), 7), { code: 'ENOENT' });
      assert.equal(await store.stat(hash), undefined);
    });

    it('rejects names that are not sha256 hex', async () => {
      await assert.rejects(store.stat('abc'), TypeError);
      await assert.rejects(store.putBuffer('A'.repeat(64), Buffer.from('x')), TypeError);
    });

    it('lists stored content by hash prefix, with size and time', async () => {
      const stored = new Map<string, number>();
      for (let i = 0; i < 5; i += 1) {
        const data = randomBytes(10 + i);
        stored.set(sha256(data), data.length);
        await store.putBuffer(sha256(data), data);
      }
      const all = await collect(store.list());
      for (const [hash, size] of stored) {
        const item = all.find((entry) => entry.hash === hash);
        assert.ok(item !== undefined, `listed ${hash}`);
        assert.equal(item.size, size);
        assert.ok(
          item.lastModified instanceof Date && Math.abs(item.lastModified.getTime() - Date.now()) < 10 * 60_000,
        );
      }
      const hashes = all.map((entry) => entry.hash);
      assert.deepEqual(hashes, [...hashes].sort(), 'in hash order');
      const some = [...stored.keys()][0]!;
      for (const prefix of [some.slice(0, 1), some.slice(0, 2), some.slice(0, 5), some]) {
        const listed = (await collect(store.list(prefix))).map((entry) => entry.hash);
        assert.ok(listed.includes(some), `prefix ${prefix}`);
        assert.ok(
          listed.every((hash) => hash.startsWith(prefix)),
          `only prefix ${prefix}`,
        );
      }
      await assert.rejects(collect(store.list('XYZ')), TypeError);
    });

    it('removes content, and removing absent content is fine', async () => {
      const data = Buffer.from('to be removed');
      const hash = sha256(data);
      await store.putBuffer(hash, data);
      await store.remove(hash);
      assert.equal(await store.stat(hash), undefined);
      await store.remove(hash);
      const listed = (await collect(store.list(hash))).map((entry) => entry.hash);
      assert.deepEqual(listed, []);
    });
  });
}
