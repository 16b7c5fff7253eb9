// One behavioural contract for every SourceIndex: run against SQLite and memory in unit
// tests, so the fake the model test uses stays honest.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EntryState } from '../../schemas/event.ts';
import { relPath } from '../../schemas/rel-path.ts';
import type { SourceIndex } from '../../services/producer/ports/source-index.ts';

const file = (hash: string, size = 3): EntryState => ({
  kind: 'file',
  size,
  mode: 0o644,
  mtimeMs: 1_700_000_000_123,
  hash: hash.repeat(64),
});
const dir: EntryState = { kind: 'dir', mode: 0o755 };
const fp = { ino: 42, size: 3, mtimeMs: 1_700_000_000_123.456, ctimeMs: 1_700_000_000_999.75 };

export function testSourceIndex(name: string, factory: () => { index: SourceIndex; cleanup?: () => void }): void {
  describe(`SourceIndex contract: ${name}`, () => {
    const open = (t: { after: (fn: () => void) => void }) => {
      const subject = factory();
      t.after(() => {
        subject.index.close();
        subject.cleanup?.();
      });
      return subject.index;
    };

    it('keeps state, seq and fingerprint per path, for files and directories alike', (t) => {
      const index = open(t);
      index.put(relPath('a'), dir, 1, { ino: 7, size: 0, mtimeMs: 0, ctimeMs: 5.5 });
      index.put(relPath('a/f'), file('a'), 2, fp);
      index.put(relPath('a/l'), { kind: 'symlink', target: '../x' }, 3, undefined);
      assert.deepEqual(index.get(relPath('a/f')), { path: 'a/f', state: file('a'), seq: 2, fingerprint: fp });
      assert.deepEqual(index.get(relPath('a'))?.fingerprint, { ino: 7, size: 0, mtimeMs: 0, ctimeMs: 5.5 });
      assert.equal(index.get(relPath('a/l'))?.fingerprint, undefined);
      assert.equal(index.get(relPath('nothing')), undefined);
      assert.deepEqual(index.counts(), { file: 1, dir: 1, symlink: 1 });
      index.remove(relPath('a/l'));
      assert.equal(index.get(relPath('a/l')), undefined);
    });

    it('lists exactly the paths below a directory, not its neighbours that share a prefix', (t) => {
      const index = open(t);
      for (const p of ['a', 'a/b', 'a/b/c', 'a-b', 'a!b', 'ab', 'a0', 'b']) index.put(relPath(p), dir, 1, undefined);
      assert.deepEqual(index.below('a').sort(), ['a/b', 'a/b/c']);
      assert.equal(index.below('').length, 8);
      assert.deepEqual(index.below('b'), []);
    });

    it('summarises the children of a directory, with what a comparison needs', (t) => {
      const index = open(t);
      index.put(relPath('d'), dir, 1, undefined);
      index.put(relPath('d/f'), file('b'), 2, fp); // a file's fingerprint size is its size
      index.put(relPath('d/s'), { kind: 'symlink', target: 't' }, 3, undefined);
      index.put(relPath('d/sub/deep'), file('c'), 4, undefined);
      const children = index.childSummaries('d').sort((x, y) => (x.name < y.name ? -1 : 1));
      assert.deepEqual(
        children.map((c) => c.name),
        ['f', 's'],
      );
      assert.deepEqual(children[0], {
        name: 'f',
        kind: 'file',
        fingerprint: fp,
        mode: 0o644,
        size: 3,
        mtimeMs: 1_700_000_000_123,
      });
      assert.equal(children[1]!.target, 't');
      assert.deepEqual(
        index.childSummaries('').map((c) => c.name),
        ['d'],
      );
    });

    it('knows which content hashes it references', (t) => {
      const index = open(t);
      index.put(relPath('f'), file('d'), 1, undefined);
      assert.equal(index.hasHash('d'.repeat(64)), true);
      assert.equal(index.hasHash('e'.repeat(64)), false);
    });

    it('keeps the children digest of a directory until something is written there or at a child', (t) => {
      const index = open(t);
      const digest = (byte: number) => Buffer.alloc(32, byte);
      const digestOf = (d: string) => index.childrenDigest(d)?.toString('hex');
      const setAll = () => {
        for (const [d, byte] of [
          ['', 1],
          ['d', 2],
          ['d/sub', 3],
          ['e', 4],
        ] as const)
          index.setChildrenDigest(d, digest(byte));
      };
      assert.equal(index.childrenDigest('d'), undefined);
      setAll();
      assert.equal(digestOf('d'), digest(2).toString('hex'));
      index.put(relPath('d/f'), file('a'), 1, fp); // a new child
      assert.equal(index.childrenDigest('d'), undefined);
      assert.deepEqual([digestOf(''), digestOf('d/sub'), digestOf('e')].map(Boolean), [true, true, true]);
      setAll();
      index.put(relPath('d/f'), file('b'), 2, fp); // a child replaced
      assert.equal(index.childrenDigest('d'), undefined);
      setAll();
      index.apply([{ op: 'remove', path: relPath('d/f') }]); // a child removed, in a batch
      assert.equal(index.childrenDigest('d'), undefined);
      setAll();
      index.transaction(() => {
        index.put(relPath('d/g'), file('a'), 5, fp);
        index.setChildrenDigest('d', digest(7)); // as a walk does between batches
        index.put(relPath('d/h'), file('a'), 6, fp); // a second write there in one batch forgets it too
      });
      assert.equal(index.childrenDigest('d'), undefined);
      setAll();
      index.put(relPath('d/sub'), dir, 3, undefined); // a directory's own entry: a child of its parent
      assert.equal(digestOf('d'), undefined);
      assert.deepEqual([digestOf(''), digestOf('d/sub'), digestOf('e')].map(Boolean), [true, true, true]);
      setAll();
      index.remove(relPath('d/sub')); // a directory removed: its children are gone with it
      assert.deepEqual([digestOf('d'), digestOf('d/sub')], [undefined, undefined]);
      setAll();
      index.put(relPath('top'), file('c'), 4, undefined); // the root's children
      assert.equal(index.childrenDigest(''), undefined);
      assert.equal(digestOf('d'), digest(2).toString('hex'), 'unrelated directories keep theirs');
      index.setChildrenDigest('d', digest(9));
      assert.equal(digestOf('d'), digest(9).toString('hex'), 'a newer digest replaces the old');
    });

    it('applies writes and meta values together, and a failed transaction leaves nothing', (t) => {
      const index = open(t);
      index.put(relPath('old'), file('a'), 1, undefined);
      index.apply(
        [
          { op: 'put', path: relPath('new'), state: file('b'), seq: 2, fingerprint: fp },
          { op: 'remove', path: relPath('old') },
        ],
        {
          lastSeq: '2',
        },
      );
      assert.equal(index.get(relPath('old')), undefined);
      assert.equal(index.get(relPath('new'))?.seq, 2);
      assert.equal(index.getMeta('lastSeq'), '2');
      assert.throws(() =>
        index.transaction(() => {
          index.put(relPath('new'), file('c'), 3, undefined);
          index.remove(relPath('new'));
          index.put(relPath('x'), dir, 4, undefined);
          index.setMeta('lastSeq', '4');
          throw new Error('boom');
        }),
      );
      assert.equal(index.get(relPath('new'))?.seq, 2);
      assert.equal(index.get(relPath('x')), undefined);
      assert.equal(index.getMeta('lastSeq'), '2');
      assert.deepEqual(
        index.childSummaries('').map((c) => c.name),
        ['new'],
      );
    });
  });
}
