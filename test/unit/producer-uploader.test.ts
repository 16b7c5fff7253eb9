import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createProducerMetrics } from '../../services/producer/metrics.ts';
import { TRUST_STORED_MS, Uploader } from '../../services/producer/uploader.ts';
import { MemoryContentStore } from '../../services/shared/memory-content-store.ts';
import { defer } from '../helpers/cleanup.ts';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

function setup(t: Parameters<typeof defer>[0], indexed: Set<string> = new Set()) {
  let clock = Date.parse('2026-11-26T00:00:00Z');
  const store = new MemoryContentStore({ now: () => new Date(clock) });
  const metrics = createProducerMetrics();
  const uploader = new Uploader(
    store,
    (hash) => indexed.has(hash),
    metrics,
    () => clock,
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlog-uploader-'));
  defer(t, () => fs.rmSync(dir, { recursive: true, force: true }));
  const uploads = async () => (await metrics.objectsUploaded.get()).values[0]?.value ?? 0;
  const largeFile = (name: string, data: Buffer) => {
    const file = path.join(dir, name);
    fs.writeFileSync(file, data);
    return { file };
  };
  return { store, uploader, uploads, largeFile, advance: (ms: number) => (clock += ms) };
}

test('content stored moments ago is not sent again', async (t) => {
  const { uploader, uploads } = setup(t);
  const data = Buffer.from('a page');
  assert.equal(await uploader.ensureStored(sha256(data), data.length, { data }), 'stored');
  assert.equal(await uploader.ensureStored(sha256(data), data.length, { data }), 'known');
  assert.equal(await uploads(), 1);
});

test('content the index references is looked up, not sent again, however old; then trusted for a while', async (t) => {
  const data = Buffer.alloc(100_000, 7);
  const { store, uploader, uploads, largeFile, advance } = setup(t, new Set([sha256(data)]));
  await store.putBuffer(sha256(data), data);
  advance(10 * TRUST_STORED_MS);
  const source = largeFile('indexed', data);
  assert.equal(await uploader.ensureStored(sha256(data), data.length, source), 'known');
  await store.remove(sha256(data));
  assert.equal(
    await uploader.ensureStored(sha256(data), data.length, source),
    'known',
    'within the trust window: no lookup',
  );
  assert.equal(await uploads(), 0);
});

test(
  'indexed content removed from the store behind our back is stored again ' + 'once the trust window passed',
  async (t) => {
    const data = Buffer.alloc(100_000, 8);
    const { store, uploader, uploads, largeFile, advance } = setup(t, new Set([sha256(data)]));
    const source = largeFile('vanished', data);
    assert.equal(
      await uploader.ensureStored(sha256(data), data.length, source),
      'stored',
      'indexed but not in the store',
    );
    await store.remove(sha256(data));
    advance(TRUST_STORED_MS + 1);
    assert.equal(await uploader.ensureStored(sha256(data), data.length, source), 'stored');
    assert.equal(await uploads(), 2);
    assert.ok(await store.stat(sha256(data)), 'the object is back');
  },
);

test(
  'content stored long ago and no longer indexed is stored again, ' + 'renewing its age for the garbage collector',
  async (t) => {
    const { store, uploader, uploads, advance } = setup(t);
    const data = Buffer.from('came back');
    await uploader.ensureStored(sha256(data), data.length, { data });
    advance(TRUST_STORED_MS + 1);
    assert.equal(await uploader.ensureStored(sha256(data), data.length, { data }), 'stored');
    assert.equal(await uploads(), 2);
    const stat = await store.stat(sha256(data));
    assert.equal(stat?.lastModified.getTime(), Date.parse('2026-11-26T00:00:00Z') + TRUST_STORED_MS + 1);
  },
);

test('a large file found in the store is relied on only while the object is young', async (t) => {
  const { store, uploader, uploads, largeFile, advance } = setup(t);
  const young = Buffer.alloc(100_000, 1);
  const old = Buffer.alloc(100_000, 2);
  await store.putBuffer(sha256(old), old);
  advance(TRUST_STORED_MS + 1);
  await store.putBuffer(sha256(young), young);
  assert.equal(await uploader.ensureStored(sha256(young), young.length, largeFile('young', young)), 'known');
  assert.equal(await uploader.ensureStored(sha256(old), old.length, largeFile('old', old)), 'stored');
  assert.equal(await uploads(), 1);
});
