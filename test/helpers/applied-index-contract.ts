// One behavioural contract for every ReplicaIndex, run against the in-memory and the
// SQLite implementation, so the fake the model test relies on stays honest.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { relPath, type RelPath } from '../../schemas/rel-path.ts';
import type { ReplicaIndex } from '../../services/applier/adapters/applied-index.ts';
import type { AppliedEntry } from '../../services/applier/domain/plan.ts';

export interface IndexUnderTest {
  readonly index: ReplicaIndex;
  /** Closes and reopens the same storage (persistent implementations); memory returns the same object. */
  readonly reopen?: () => ReplicaIndex;
  readonly cleanup?: () => void;
}

const H1 = 'a1'.repeat(32);
const H2 = 'b2'.repeat(32);
const file = (seq: number, hash = H1): AppliedEntry => ({
  kind: 'file',
  seq,
  hash,
  size: 3,
  mode: 0o644,
  mtimeMs: 1_700_000_000_123,
});
const dir = (seq: number, explicit = true): AppliedEntry => ({
  kind: 'dir',
  seq,
  mode: explicit ? 0o750 : null,
  explicit,
});
const link = (seq: number): AppliedEntry => ({ kind: 'symlink', seq, target: '../t' });
const absent = (seq: number): AppliedEntry => ({ kind: 'absent', seq });
const p = relPath;

function given(index: ReplicaIndex, entries: Record<string, AppliedEntry>): ReplicaIndex {
  for (const [path, entry] of Object.entries(entries)) index.record(p(path), entry);
  return index;
}

const paths = (list: [RelPath, AppliedEntry][]) => list.map(([path]) => path);

/** `durable`: the storage outlives the object (the reopen case runs, and needs `reopen`). */
export function testReplicaIndex(name: string, factory: () => IndexUnderTest, options = { durable: false }): void {
  describe(`ReplicaIndex contract: ${name}`, () => {
    const withIndex = (fn: (index: ReplicaIndex, subject: IndexUnderTest) => void) => () => {
      const subject = factory();
      try {
        fn(subject.index, subject);
      } finally {
        subject.cleanup?.();
      }
    };

    it(
      'answers for all the ancestors of a path at once, as get does, through every change',
      withIndex((index) => {
        given(index, { a: dir(1), 'a/b': dir(2, false), 'a/b/c': file(3), x: link(4) });
        const ask = (path: string) => index.ancestorEntries(p(path));
        assert.deepEqual(ask('a/b/c/d'), [dir(1), dir(2, false), file(3)]);
        assert.deepEqual(ask('a/b/c/d'), [index.get(p('a')), index.get(p('a/b')), index.get(p('a/b/c'))]);
        assert.deepEqual(ask('top'), []);
        assert.deepEqual(ask('missing/x/y'), [undefined, undefined]);
        index.record(p('a/b'), file(5)); // a directory replaced: nothing below it may be remembered
        assert.deepEqual(ask('a/b/c/d'), [dir(1), file(5), index.get(p('a/b/c'))]);
        index.record(p('a/b'), dir(6));
        index.forgetBelow(p('a'));
        assert.deepEqual(ask('a/b/c'), [dir(1), undefined]);
        index.remove(p('a'));
        assert.deepEqual(ask('a/b'), [undefined]);
      }),
    );

    it(
      'records and returns every kind of entry',
      withIndex((index) => {
        given(index, { f: file(1), d: dir(2), i: dir(3, false), l: link(4), x: absent(5), 'd/é ü/ñ': file(6, H2) });
        assert.deepEqual(index.get(p('f')), file(1));
        assert.deepEqual(index.get(p('d')), dir(2));
        assert.deepEqual(index.get(p('i')), dir(3, false));
        assert.deepEqual(index.get(p('l')), link(4));
        assert.deepEqual(index.get(p('x')), absent(5));
        assert.deepEqual(index.get(p('d/é ü/ñ')), file(6, H2));
        assert.equal(index.get(p('nope')), undefined);
        index.record(p('f'), dir(7));
        assert.deepEqual(index.get(p('f')), dir(7));
      }),
    );

    it(
      'maxSeqBelow counts files, symlinks and explicit directories strictly below, not look-alike siblings',
      withIndex((index) => {
        given(index, {
          a: dir(100),
          'a/f': file(5),
          'a/b': dir(1, false),
          'a/b/l': link(7),
          'a/x': absent(50),
          'a/i': dir(40, false),
          'a.b': file(90),
          a0: file(91),
          'ab/c': file(92),
        });
        assert.equal(index.maxSeqBelow(p('a')), 7);
        assert.equal(index.maxSeqBelow(p('a/b')), 7);
        assert.equal(index.maxSeqBelow(p('a/f')), -1);
        index.record(p('a/b/e'), dir(60));
        assert.equal(index.maxSeqBelow(p('a')), 60);
        assert.equal(index.maxSeqBelow(p('zzz')), -1);
      }),
    );

    it(
      'childCount counts present entries directly inside',
      withIndex((index) => {
        given(index, {
          a: dir(1),
          'a/f': file(2),
          'a/d': dir(3, false),
          'a/d/g': file(4),
          'a/x': absent(5),
          'a.b': file(6),
          'a/l': link(7),
        });
        assert.equal(index.childCount(p('a')), 3);
        assert.equal(index.childCount(p('a/d')), 1);
        assert.equal(index.childCount(p('a/f')), 0);
        assert.deepEqual(index.presentChildren(p('a')).sort(), ['d', 'f', 'l']);
        assert.deepEqual(index.presentChildren('').sort(), ['a', 'a.b']);
      }),
    );

    it(
      'forgetBelow drops the subtree but not the path itself or look-alike siblings',
      withIndex((index) => {
        given(index, { a: dir(1), 'a/f': file(2), 'a/d/g': file(3), 'a.b': file(4), a0: file(5), 'ab/c': file(6) });
        index.forgetBelow(p('a'));
        assert.deepEqual(paths([...index.entries()]), ['a', 'a.b', 'a0', 'ab/c']);
      }),
    );

    it(
      'entries come in byte order of the UTF-8 path',
      withIndex((index) => {
        given(index, {
          'a/b': file(1),
          a: dir(2),
          'a.b': file(3),
          'a\u{1F600}': file(4),
          'a\uFF01': file(5),
          B: file(6),
        });
        assert.deepEqual(paths([...index.entries()]), ['B', 'a', 'a.b', 'a/b', 'a\uFF01', 'a\u{1F600}']);
      }),
    );

    it(
      'pruneTombstones drops only tombstones older than the seq',
      withIndex((index) => {
        given(index, { a: absent(5), b: absent(10), c: file(1), d: absent(11) });
        assert.equal(index.pruneTombstones(11, 1), 1);
        assert.equal(index.pruneTombstones(11), 1);
        assert.deepEqual(paths([...index.entries()]), ['c', 'd']);
      }),
    );

    it(
      'pathsWithHash finds files holding the content, up to the limit',
      withIndex((index) => {
        given(index, { a: file(1, H1), b: file(2, H2), c: file(3, H1), d: file(4, H1), e: absent(5) });
        assert.deepEqual(index.pathsWithHash(H2, 5), ['b']);
        assert.equal(index.pathsWithHash(H1, 2).length, 2);
        assert.equal(index.pathsWithHash(H1, 10).length, 3);
        index.record(p('b'), absent(9));
        assert.deepEqual(index.pathsWithHash(H2, 5), []);
      }),
    );

    it(
      'staleEntries lists entries of older epochs, deepest path first; touch and record move them to the current epoch',
      withIndex((index) => {
        index.setEpoch(1);
        given(index, { a: dir(1), 'a/f': file(2), 'a/g': file(3), b: absent(4), c: link(5) });
        index.setEpoch(2);
        assert.equal(index.epoch, 2);
        index.touch(p('a/g'));
        index.touch(p('nope'));
        index.record(p('c'), link(6));
        assert.deepEqual(paths(index.staleEntries(10)), ['b', 'a/f', 'a']);
        assert.deepEqual(paths(index.staleEntries(1)), ['b']);
        assert.deepEqual(paths(index.staleEntries(10, p('b'))), ['a/f', 'a']);
        index.remove(p('a/f'));
        assert.deepEqual(paths(index.staleEntries(10)), ['b', 'a']);
        assert.equal(index.get(p('a/f')), undefined);
      }),
    );

    it(
      'directories pages through present directories in path order',
      withIndex((index) => {
        given(index, { a: dir(1), 'a/b': dir(2, false), c: file(3), d: absent(4), e: dir(5) });
        assert.deepEqual(index.directories(10), ['a', 'a/b', 'e']);
        assert.deepEqual(index.directories(1, p('a')), ['a/b']);
      }),
    );

    it(
      'hasPresentEntries and clear (entries and heal waits, not metadata)',
      withIndex((index) => {
        assert.equal(index.hasPresentEntries(), false);
        index.record(p('x'), absent(1));
        assert.equal(index.hasPresentEntries(), false);
        index.record(p('y'), file(2));
        assert.equal(index.hasPresentEntries(), true);
        index.writeMeta('k', { v: 1 });
        const headers = { v: '1' };
        const wait = { partition: 0, offset: 1, hash: H1, reason: 'content-missing' as const, since: 1, headers };
        index.recordHealWait({ ...wait, key: null, value: null });
        index.clear();
        assert.deepEqual(index.healWaits(10), [], 'a rebuild starts without heal waits');
        assert.equal(index.hasPresentEntries(), false);
        assert.deepEqual([...index.entries()], []);
        assert.deepEqual(index.readMeta('k'), { v: 1 });
      }),
    );

    it(
      'metadata round-trips as JSON',
      withIndex((index) => {
        assert.equal(index.readMeta('positions'), undefined);
        index.writeMeta('positions', { 0: 12, 3: 4 });
        assert.deepEqual(index.readMeta('positions'), { 0: 12, 3: 4 });
        index.writeMeta('rebuild', null);
        assert.equal(index.readMeta('rebuild'), null);
      }),
    );

    it(
      'heal waits round-trip, in (partition, offset) order, replaced by position and dropped',
      withIndex((index) => {
        const wait = (partition: number, offset: number, hash = H1) => ({
          partition,
          offset,
          hash,
          reason: 'content-missing' as const,
          since: 1_700_000_000_000 + offset,
          key: Buffer.from(`k${offset}`),
          value: offset === 0 ? null : Buffer.from(`{"offset":${offset}}`),
          headers: { v: '1', seq: String(offset) },
        });
        assert.deepEqual(index.healWaits(10), []);
        index.recordHealWait(wait(2, 7));
        index.recordHealWait(wait(0, 0));
        index.recordHealWait(wait(2, 3));
        index.recordHealWait({ ...wait(2, 7, H2), reason: 'content-mismatch' });
        assert.deepEqual(index.healWaits(10), [
          wait(0, 0),
          wait(2, 3),
          { ...wait(2, 7, H2), reason: 'content-mismatch' },
        ]);
        assert.deepEqual(index.healWaits(1), [wait(0, 0)]);
        index.dropHealWait(2, 3);
        index.dropHealWait(5, 5);
        assert.deepEqual(
          index.healWaits(10).map((w) => [w.partition, w.offset]),
          [
            [0, 0],
            [2, 7],
          ],
        );
      }),
    );

    it(
      'heal waits committed survive a reopen',
      withIndex((index, subject) => {
        if (subject.reopen === undefined) return;
        const wait = {
          partition: 1,
          offset: 9,
          hash: H1,
          reason: 'content-mismatch' as const,
          since: 5,
          key: Buffer.from('a/b'),
          value: Buffer.from('{}'),
          headers: { v: '1' },
        };
        index.recordHealWait(wait);
        index.commit();
        index.recordHealWait({ ...wait, offset: 10 });
        assert.deepEqual(subject.reopen().healWaits(10), [wait]);
      }),
    );

    // Only durable storage has a reopen to survive; for the others the case is not registered (not passed).
    if (options.durable)
      it(
        'what was committed survives a reopen; what was not is rolled back',
        withIndex((index, subject) => {
          if (subject.reopen === undefined) assert.fail(`${name} is durable but gives no reopen`);
          index.setEpoch(3);
          given(index, { kept: file(1) });
          index.writeMeta('m', 1);
          index.commit();
          given(index, { lost: file(2) });
          const reopened = subject.reopen();
          assert.deepEqual(reopened.get(p('kept')), file(1));
          assert.equal(reopened.get(p('lost')), undefined);
          assert.equal(reopened.readMeta('m'), 1);
        }),
      );
  });
}
