import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { encodeRecord } from '../../schemas/codec.ts';
import { relPath } from '../../schemas/rel-path.ts';
import { run, sweep } from '../../services/cli/gc.ts';
import { GC_MIN_GRACE_MS, ReferencedHashes, judge, referencedHash } from '../../services/cli/gc-plan.ts';
import { TRUST_STORED_MS } from '../../services/producer/uploader.ts';
import type { ContentStore } from '../../services/shared/content-store.ts';
import { CliError } from '../../services/shared/errors.ts';
import { MemoryContentStore } from '../../services/shared/memory-content-store.ts';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const randomHash = () => randomBytes(32).toString('hex');
const HOUR = 3_600_000;

function sealed(...hashes: string[]): ReferencedHashes {
  const set = new ReferencedHashes();
  for (const hash of hashes) set.add(hash);
  set.seal();
  return set;
}

test('the referenced set finds every hash added, duplicates included, past its first allocation', () => {
  const added = Array.from({ length: 70_000 }, randomHash);
  const set = sealed(...added, ...added.slice(0, 1000));
  assert.equal(set.size, 70_000);
  assert.ok(added.every((hash) => set.has(hash)));
  assert.equal(Array.from({ length: 10_000 }, randomHash).filter((hash) => set.has(hash)).length, 0);
});

test('an empty referenced set references nothing', () => {
  assert.equal(sealed().has(randomHash()), false);
});

test('an object is garbage only when unreferenced and written before the cutoff', () => {
  const hash = randomHash();
  const at = (ms: number) => ({ hash, size: 1, lastModified: new Date(ms) });
  assert.equal(judge(at(0), sealed(hash), 1000), 'referenced');
  assert.equal(judge(at(1000), sealed(), 1000), 'young');
  assert.equal(judge(at(999), sealed(), 1000), 'garbage');
});

test('the hash a record references is found in file events only', () => {
  const file = encodeRecord({
    source: 's',
    seq: 1,
    ts: 1,
    path: relPath('a/big.mp4'),
    op: 'file',
    size: 1 << 20,
    mode: 0o644,
    mtimeMs: 1,
    hash: 'ab'.repeat(32),
  });
  assert.equal(referencedHash(file.value), 'ab'.repeat(32));
  assert.equal(referencedHash(Buffer.from(file.value!)), 'ab'.repeat(32));
  const trickyName = encodeRecord({
    source: 's',
    seq: 2,
    ts: 1,
    path: relPath(`"hash":"${'cd'.repeat(32)}"`),
    op: 'dir',
    mode: 0o755,
  });
  assert.equal(referencedHash(trickyName.value), undefined);
  assert.equal(referencedHash(null), undefined);
});

test('the producer relies on stored content for less time than the shortest grace period', () => {
  assert.ok(TRUST_STORED_MS * 2 <= GC_MIN_GRACE_MS);
});

test('a grace period under an hour is refused without --force, naming the flag', async () => {
  await assert.rejects(
    run(['--grace', '10m'], {}),
    (error: unknown) => error instanceof CliError && error.message.includes('--grace 10 min'),
  );
});

test('sweep deletes old unreferenced content and keeps what is referenced or young', async () => {
  let clock = 0;
  const store = new MemoryContentStore({ now: () => new Date(clock) });
  const put = async (text: string) => {
    const data = Buffer.from(text);
    await store.putBuffer(sha256(data), data);
    return sha256(data);
  };
  const kept = await put('referenced');
  const old = await put('garbage');
  clock = 10 * HOUR;
  const young = await put('young');
  const options = { cutoffMs: 5 * HOUR, concurrency: 4 };

  const dry = await sweep(store, sealed(kept), { ...options, dryRun: true });
  assert.deepEqual(
    [dry.objects.count, dry.referenced.count, dry.young.count, dry.garbage.count, dry.deleted.count],
    [3, 1, 1, 1, 0],
  );
  assert.equal(store.size, 3);

  const real = await sweep(store, sealed(kept), { ...options, dryRun: false });
  assert.deepEqual([real.garbage.count, real.deleted.count, real.deleted.bytes], [1, 1, 'garbage'.length]);
  assert.equal(await store.stat(old), undefined);
  assert.notEqual(await store.stat(kept), undefined);
  assert.notEqual(await store.stat(young), undefined);
});

test('sweep spares garbage stored again after the listing', async () => {
  let clock = 0;
  const memory = new MemoryContentStore({ now: () => new Date(clock) });
  const data = Buffer.from('came back');
  await memory.putBuffer(sha256(data), data);
  const staleListing: ContentStore = Object.assign(Object.create(memory) as ContentStore, {
    stat: (hash: string) => memory.stat(hash),
    remove: (hash: string) => memory.remove(hash),
    async *list() {
      const listed = [];
      for await (const object of memory.list()) listed.push(object);
      clock = 10 * HOUR; // a producer stores the same content again
      await memory.putBuffer(sha256(data), data);
      yield* listed;
    },
  });
  const report = await sweep(staleListing, sealed(), { cutoffMs: 5 * HOUR, dryRun: false, concurrency: 1 });
  assert.deepEqual([report.garbage.count, report.deleted.count, report.spared], [1, 0, 1]);
  assert.notEqual(await memory.stat(sha256(data)), undefined);
});
