// Parallel apply in the real lane (writes-in-flight.ts): small files are written on
// libuv's pool while the lane goes on; what touches a path with a write in flight waits
// for it; a write that fails there is undone in the index and applied again in order.
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import type { MirrorEvent } from '../../schemas/event.ts';
import { relPath } from '../../schemas/rel-path.ts';
import { SqliteAppliedIndex } from '../../services/applier/adapters/sqlite-applied-index.ts';
import { makeLaneHarness, sha256, type LaneHarness } from '../helpers/applier-lane-harness.ts';

let harness: LaneHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

let seq = 1_750_000_000_000_000;
const base = () => ({ source: 'src', seq: ++seq, ts: Date.now() });
/** A small file carried inside its record, as the producer sends most files. */
function inline(path: string, text: string, mode = 0o644, mtimeMs = 1_650_000_000_123): MirrorEvent {
  const data = Buffer.from(text);
  return { ...base(), op: 'file', path: relPath(path), size: data.length, mode, mtimeMs, hash: sha256(data), data };
}
const del = (path: string): MirrorEvent => ({ ...base(), op: 'delete', path: relPath(path) });
const read = (h: LaneHarness, path: string) => readFileSync(join(h.target, path), 'utf8');

async function parallelWrites(h: LaneHarness, outcome: 'done' | 'redone'): Promise<number> {
  const { values } = await h.metrics.parallelWrites.get();
  return values.find((value) => value.labels.outcome === outcome)?.value ?? 0;
}

for (const kind of ['memory', 'sqlite'] as const) {
  describe(`parallel writes (${kind} index)`, () => {
    const make = (options: Parameters<typeof makeLaneHarness>[0] = {}) =>
      (harness = makeLaneHarness({
        ...options,
        ...(kind === 'sqlite' ? { index: (dir: string) => new SqliteAppliedIndex(join(dir, 'index.sqlite')) } : {}),
      }));

    it('writes small files on the pool, each with its bytes, mode and mtime, leaving no temp file', async () => {
      const h = make();
      const files = Array.from({ length: 400 }, (_, i) =>
        inline(`d${i % 4}/f${i}`, `content ${i}`, 0o600 + (i % 2) * 0o40),
      );
      h.push(0, files.slice(0, 200));
      h.push(1, files.slice(200));
      await h.settle();
      for (const [i, event] of files.entries()) {
        const stat = lstatSync(join(h.target, event.path));
        assert.equal(read(h, event.path), `content ${i}`);
        assert.equal(stat.mode & 0o7777, 0o600 + (i % 2) * 0o40);
        assert.equal(Math.trunc(stat.mtimeMs), 1_650_000_000_123);
      }
      assert.equal(await parallelWrites(h, 'done'), 400);
      for (const d of ['d0', 'd1', 'd2', 'd3'])
        assert.ok(
          readdirSync(join(h.target, d)).every((name) => name.startsWith('f')),
          `no temp file left in ${d}`,
        );
    });

    it('with no writes in flight allowed, every write is synchronous', async () => {
      const h = make({ maxWritesInFlight: 0 });
      h.push(0, [inline('a', 'x'), inline('b', 'y')]);
      await h.settle();
      assert.equal(read(h, 'b'), 'y');
      assert.equal(await parallelWrites(h, 'done'), 0);
    });

    it('a delete of a directory waits for the writes in flight into it; other partitions go on', async () => {
      const h = make();
      h.push(0, [...Array.from({ length: 300 }, (_, i) => inline(`gone/f${i}`, `x${i}`)), del('gone')]);
      h.push(
        1,
        Array.from({ length: 100 }, (_, i) => inline(`kept/f${i}`, `y${i}`)),
      );
      await h.settle();
      assert.equal(existsSync(join(h.target, 'gone')), false, 'no write landed after the delete of its directory');
      assert.equal(readdirSync(join(h.target, 'kept')).length, 100);
      assert.equal(h.index.get(relPath('gone/f7'))?.kind ?? 'absent', 'absent');
    });

    it('a delete right after a write of the same path waits for it: nothing deleted comes back', async () => {
      const h = make();
      h.push(0, Array.from({ length: 100 }, (_, i) => [inline(`p${i}`, `x${i}`), del(`p${i}`)]).flat());
      await h.settle();
      assert.deepEqual(readdirSync(h.target), []);
      assert.deepEqual(h.deadLetters, []);
    });

    it('a later write of the same path waits for the one in flight: the last one wins', async () => {
      const h = make();
      h.push(
        0,
        Array.from({ length: 50 }, (_, i) => inline('same', `version ${i}`)),
      );
      await h.settle();
      assert.equal(read(h, 'same'), 'version 49');
    });

    it('a write that fails on the pool is undone in the index and applied again in order', async () => {
      const h = make();
      // The disk is ahead of the index: a directory with an entry sits where the file goes, so the
      // pool's rename fails (EISDIR); the synchronous write removes what is in the way.
      mkdirSync(join(h.target, 'dir-in-the-way/inner'), { recursive: true });
      writeFileSync(join(h.target, 'dir-in-the-way/inner/x'), 'stale');
      h.push(0, [inline('dir-in-the-way', 'the file'), inline('after', 'next')]);
      await h.settle();
      assert.equal(read(h, 'dir-in-the-way'), 'the file');
      assert.equal(read(h, 'after'), 'next');
      assert.equal(await parallelWrites(h, 'redone'), 1);
      assert.equal(h.index.get(relPath('dir-in-the-way'))?.kind, 'file');
      assert.equal(h.positions.durable().get(0), 2);
    });
  });
}
