// The apply lane with everything but Kafka: events in, files out, bad records
// dead-lettered without stopping the lane, and a partition waiting for content never
// holding the others up.
import assert from 'node:assert/strict';
import {
  lstatSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  symlinkSync,
  mkdirSync,
  rmSync,
  existsSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { EVENT_VERSION, type MirrorEvent } from '../../schemas/event.ts';
import { relPath, type RelPath } from '../../schemas/rel-path.ts';
import { MemoryAppliedIndex } from '../../services/applier/adapters/memory-applied-index.ts';
import { SqliteAppliedIndex } from '../../services/applier/adapters/sqlite-applied-index.ts';
import { ManualClock } from '../../services/shared/clock.ts';
import { makeLaneHarness, sha256, type LaneHarness } from '../helpers/applier-lane-harness.ts';

let harness: LaneHarness | undefined;
afterEach(async () => {
  await harness?.close();
  harness = undefined;
});

let seq = 1_700_000_000_000_000;
const base = () => ({ source: 'src', seq: ++seq, ts: Date.now() });
const dir = (path: string, mode = 0o755): MirrorEvent => ({ ...base(), op: 'dir', path: relPath(path), mode });
const link = (path: string, target: string): MirrorEvent => ({ ...base(), op: 'symlink', path: relPath(path), target });
const del = (path: string): MirrorEvent => ({ ...base(), op: 'delete', path: relPath(path) });
async function file(
  h: LaneHarness,
  path: string,
  text: string,
  mode = 0o644,
  mtimeMs = 1_650_000_000_123,
): Promise<MirrorEvent> {
  const data = Buffer.from(text);
  await h.store.putBuffer(sha256(data), data);
  return { ...base(), op: 'file', path: relPath(path), size: data.length, mode, mtimeMs, hash: sha256(data) };
}
const read = (h: LaneHarness, path: string) => readFileSync(join(h.target, path), 'utf8');
async function waitUntil(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !condition();) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

for (const kind of ['memory', 'sqlite'] as const) {
  describe(`apply lane (${kind} index)`, () => {
    const make = (options: Parameters<typeof makeLaneHarness>[0] = {}) =>
      (harness = makeLaneHarness({
        ...options,
        index:
          options.index ?? (kind === 'sqlite' ? (dir) => new SqliteAppliedIndex(join(dir, 'index.sqlite')) : undefined),
      }));

    it('applies files, directories, symlinks and deletes with modes and mtimes', async () => {
      const h = make();
      h.push(0, [dir('d', 0o750), await file(h, 'top', 'top', 0o600, 1_000_000_000_000)]);
      h.push(1, [
        await file(h, 'd/f', 'hello', 0o4755) /* setuid: stripped (no --allow-setid) */,
        link('d/l', '../top'),
        await file(h, 'd/gone', 'x'),
      ]);
      h.push(1, [del('d/gone')]);
      await h.settle();
      assert.equal(read(h, 'd/f'), 'hello');
      assert.equal(lstatSync(join(h.target, 'd/f')).mode & 0o7777, 0o755);
      assert.equal(Math.trunc(lstatSync(join(h.target, 'top')).mtimeMs), 1_000_000_000_000);
      assert.equal(lstatSync(join(h.target, 'd')).mode & 0o7777, 0o750);
      assert.equal(readlinkSync(join(h.target, 'd/l')), '../top');
      assert.deepEqual(readdirSync(join(h.target, 'd')).sort(), ['f', 'l']);
      assert.equal(h.deadLetters.length, 0);
    });

    it('a crafted seq far in the future (2^53 - 1) is dead-lettered and does not freeze its path (L3)', async () => {
      const h = make();
      const crafted = { ...(await file(h, 'p', 'crafted')), seq: Number.MAX_SAFE_INTEGER };
      h.push(0, [crafted, await file(h, 'p', 'real change')]);
      await h.settle();
      assert.equal(read(h, 'p'), 'real change');
      assert.deepEqual(
        h.deadLetters.map((d) => [d.offset, d.reason.code]),
        [[0, 'seq-in-future']],
      );
    });

    it('a record deep in a 1,900-level chain asks the index O(1) questions, not one per ancestor (M2)', async () => {
      let gets = 0;
      const h = make({
        index: (dir) => {
          const index =
            kind === 'sqlite' ? new SqliteAppliedIndex(join(dir, 'index.sqlite')) : new MemoryAppliedIndex();
          return new Proxy(index, {
            get(target, property, receiver) {
              const value = Reflect.get(target, property, receiver) as unknown;
              if (property === 'get' && typeof value === 'function')
                return (path: RelPath) => (gets++, (value as (p: RelPath) => unknown).call(target, path));
              return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
            },
          });
        },
      });
      const chain = Array.from({ length: 1900 }, () => 'd').join('/');
      h.push(0, [dir(chain)]); // its 1,899 ancestors are made as it is applied
      await h.settle(120_000);
      gets = 0;
      h.push(0, [await file(h, `${chain}/f`, 'deep')]);
      await h.settle(120_000);
      assert.equal(read(h, `${chain}/f`), 'deep');
      assert.ok(gets <= 4, `${gets} index lookups for one record`);
      h.push(0, [del('d')]); // and the whole chain goes, walked by fd
      await h.settle(120_000);
      assert.deepEqual(readdirSync(h.target), []);
    });

    it(
      'a full state directory holds the lane and says so, never ends it, ' +
        'and applying resumes once there is room (M9)',
      async () => {
        let problem: string | undefined = 'the state directory is (nearly) full: 3 MiB free, 64 MiB needed';
        const h = make({ stateSpace: () => problem });
        let ended = false;
        h.lane.start().then(
          () => (ended = true),
          () => (ended = true),
        );
        h.push(0, [await file(h, 'waits', 'for room')]);
        await waitUntil(() => h.lane.stalled !== undefined);
        assert.equal(existsSync(join(h.target, 'waits')), false, 'nothing applied while the state directory is full');
        assert.match(h.lane.stalled ?? '', /state directory is \(nearly\) full/);
        problem = undefined;
        await h.settle(20_000);
        assert.equal(read(h, 'waits'), 'for room');
        assert.equal(h.lane.stalled, undefined);
        assert.equal(ended, false);
      },
    );

    it(
      'an index that cannot commit (disk full) holds the lane and reports it, ' + 'without committing past it (M9)',
      async () => {
        let commitAttempts = 0;
        const h = make({
          index: (dir) => {
            const index =
              kind === 'sqlite' ? new SqliteAppliedIndex(join(dir, 'index.sqlite')) : new MemoryAppliedIndex();
            index.commit = () => {
              commitAttempts += 1;
              throw Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' });
            };
            return index;
          },
        });
        let ended = false;
        h.lane.start().then(
          () => (ended = true),
          () => (ended = true),
        );
        h.push(0, [await file(h, 'a', 'a')]);
        await waitUntil(() => h.lane.stalled !== undefined);
        assert.match(h.lane.stalled ?? '', /index could not be written \(database or disk is full\)/);
        const committed = h.commits.length;
        const attempts = commitAttempts;
        h.push(0, [await file(h, 'b', 'b')]);
        // An absence can only be watched for a while: the held lane neither applies b nor tries the index again.
        await new Promise((resolve) => setTimeout(resolve, 300));
        assert.equal(commitAttempts, attempts, 'the lost index is not written again before a restart');
        assert.equal(existsSync(join(h.target, 'b')), false, 'nothing more applied');
        assert.equal(h.commits.length, committed, 'no offsets committed past the lost work');
        assert.equal(ended, false);
      },
    );

    it('dead-letters bad records and keeps going', async () => {
      const h = make();
      const good = await file(h, 'after', 'still applied');
      const badHash = await file(h, 'bad-hash', 'real');
      const realGet = h.store.getBuffer.bind(h.store);
      h.store.getBuffer = async (hash, max) =>
        hash === (badHash as { hash: string }).hash ? Buffer.from('fake') : realGet(hash, max);
      const missing: MirrorEvent = {
        ...base(),
        op: 'file',
        path: relPath('missing'),
        size: 3,
        mode: 0o644,
        mtimeMs: 0,
        hash: 'cd'.repeat(32),
      };
      h.push(0, [
        { key: '../x', value: null, headers: { v: '1', source: 's', seq: '1', ts: '1' } },
        { key: 'ok', value: Buffer.from('{not json'), headers: { v: '1', source: 's', seq: '1', ts: '1' } },
        badHash,
        missing,
        good,
      ]);
      await h.settle();
      assert.equal(read(h, 'after'), 'still applied');
      assert.deepEqual(
        h.deadLetters.map((d) => [d.offset, d.reason.code]),
        [
          [0, 'invalid-key'],
          [1, 'invalid-json'],
          [2, 'content-mismatch'],
          [3, 'content-missing'],
        ],
      );
      // Content missing or corrupt in the store is asked for again; a bad key or value is not.
      assert.deepEqual(
        h.healRequests.sort(),
        [(badHash as { hash: string }).hash, (missing as { hash: string }).hash].sort(),
      );
      assert.deepEqual(readdirSync(h.target), ['after']);
    });

    it('holds a partition at a record of a newer format, never dead-letters (skips) it, and says why', async () => {
      const h = make();
      h.lane.start().catch(() => undefined);
      const newer = {
        key: 'n',
        value: null,
        headers: { v: String(EVENT_VERSION + 1), source: 's', seq: String(++seq), ts: '1' },
      };
      h.push(0, [newer, await file(h, 'behind', 'waits')]);
      h.push(1, [await file(h, 'other', 'goes on')]);
      await waitUntil(() => h.lane.stalled !== undefined && existsSync(join(h.target, 'other')));
      assert.match(
        h.lane.stalled ?? '',
        new RegExp(
          `partition 0: offset 0: headers.v: record format ${EVENT_VERSION + 1} is newer .*upgrade the applier`,
        ),
      );
      assert.equal(existsSync(join(h.target, 'behind')), false, 'nothing after it is applied');
      assert.deepEqual(h.deadLetters, []);
    });

    it('dead-letters a write through a symlink that leads outside, touching nothing there', async () => {
      const h = make();
      const outside = join(h.base, 'outside');
      mkdirSync(outside);
      h.push(0, [dir('a')]);
      await h.settle();
      rmSync(join(h.target, 'a'), { recursive: true });
      symlinkSync(outside, join(h.target, 'a'));
      h.push(1, [await file(h, 'a/x', 'evil'), await file(h, 'b', 'fine')]);
      await h.settle();
      assert.deepEqual(readdirSync(outside), []);
      assert.deepEqual(
        h.deadLetters.map((d) => d.reason.code),
        ['unsafe-path'],
      );
      assert.equal(read(h, 'b'), 'fine');
    });

    it('copies content from a replica file with the same hash instead of downloading', async () => {
      const h = make();
      const original = await file(h, 'one', 'same bytes');
      h.push(0, [original]);
      await h.settle();
      await h.store.remove((original as { hash: string }).hash);
      h.push(0, [{ ...original, seq: ++seq, path: relPath('two') }]);
      await h.settle();
      assert.equal(read(h, 'two'), 'same bytes');
      assert.equal(h.deadLetters.length, 0);
    });

    it('tolerates a filesystem ahead of the index (redelivery after a crash)', async () => {
      const h = make();
      mkdirSync(join(h.target, 'junk-dir/inner'), { recursive: true });
      const events = [dir('junk-dir'), await file(h, 'junk-dir/inner', 'file where a dir was'), del('not-known')];
      mkdirSync(join(h.target, 'not-known'));
      h.push(0, events);
      h.push(1, [events[1]!]);
      await h.settle();
      assert.equal(read(h, 'junk-dir/inner'), 'file where a dir was');
      assert.equal(existsSync(join(h.target, 'not-known')), false);
    });

    it('a partition waiting for content does not hold the others up', async () => {
      const h = make();
      const slow = await file(h, 'slow', 'slow content');
      const realGet = h.store.getBuffer.bind(h.store);
      let release: () => void = () => undefined;
      const gate = new Promise<void>((resolve) => (release = resolve));
      h.store.getBuffer = async (hash, max) => {
        if (hash === (slow as { hash: string }).hash) await gate;
        return realGet(hash, max);
      };
      h.push(0, [slow]);
      h.push(1, [dir('fast'), await file(h, 'fast/f', 'fast')]);
      const deadline = Date.now() + 5000;
      while (!existsSync(join(h.target, 'fast/f')) && Date.now() < deadline)
        await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal(read(h, 'fast/f'), 'fast');
      assert.equal(existsSync(join(h.target, 'slow')), false);
      assert.equal(h.positions.durable().get(0), 0, 'partition 0 has not passed its waiting record');
      release();
      await h.settle();
      assert.equal(read(h, 'slow'), 'slow content');
    });
  });
}

describe('apply lane on virtual time', () => {
  it('commits when its clock says the commit interval passed, and not before (the clock is injected)', async () => {
    const clock = new ManualClock();
    const h = (harness = makeLaneHarness({ clock, commitIntervalMs: 3_600_000 }));
    h.push(0, [dir('d')]);
    // Applied, and the lane waits on its clock for the next durability point.
    await waitUntil(() => existsSync(join(h.target, 'd')) && clock.pendingTimers > 0);
    assert.equal(h.commits.length, 0, 'nothing committed before the interval');
    clock.advance(3_600_000);
    await waitUntil(() => h.commits.length > 0);
    assert.equal(h.commits.at(-1)?.get(0), 1, 'the applied record is committed');
  });
});
