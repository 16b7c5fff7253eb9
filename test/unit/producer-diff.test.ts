import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EntryState } from '../../schemas/event.ts';
import { relPath, type RelPath } from '../../schemas/rel-path.ts';
import { diffPath, needsHash } from '../../services/producer/domain/diff.ts';
import { nextSeq, SeqClock } from '../../services/producer/domain/seq-clock.ts';

const H1 = 'a'.repeat(64);
const f = (hash = H1, mode = 0o644, mtimeMs = 5): EntryState => ({ kind: 'file', size: 1, mode, mtimeMs, hash });
const d = (mode = 0o755): EntryState => ({ kind: 'dir', mode });
const p = relPath('x');
const below =
  (...paths: string[]) =>
  () =>
    paths.map((q) => relPath(q));
const none = () => {
  throw new Error('the index below was not needed');
};
const show = (changes: { path: RelPath; next: EntryState | null }[]) =>
  changes.map((c) => `${c.next === null ? 'delete' : c.next.kind} ${c.path}`);

test('nothing indexed and nothing there: a stale hint is a no-op', () => {
  assert.deepEqual(diffPath(p, undefined, undefined, none), []);
});

test('unchanged state publishes nothing', () => {
  assert.deepEqual(diffPath(p, f(), f(), none), []);
  assert.deepEqual(diffPath(p, d(), d(), none), []);
});

test('new, changed content, mode or mtime publishes the new state', () => {
  assert.deepEqual(show(diffPath(p, undefined, f(), none)), ['file x']);
  assert.deepEqual(show(diffPath(p, f(), f('b'.repeat(64)), below())), ['file x']);
  assert.deepEqual(show(diffPath(p, f(), f(H1, 0o600), below())), ['file x']);
  assert.deepEqual(show(diffPath(p, f(), f(H1, 0o644, 6), below())), ['file x']);
  assert.deepEqual(show(diffPath(p, d(), d(0o700), none)), ['dir x']);
});

test('a removed directory deletes every indexed entry below it first, deepest first', () => {
  assert.deepEqual(show(diffPath(p, d(), undefined, below('x/a', 'x/a/b', 'x/c'))), [
    'delete x/a/b',
    'delete x/a',
    'delete x/c',
    'delete x',
  ]);
});

test('a directory replaced by a file deletes its entries before the file is published', () => {
  assert.deepEqual(show(diffPath(p, d(), f(), below('x/a'))), ['delete x/a', 'file x']);
});

test('a file replaced by a directory publishes the directory (its content is walked by the caller)', () => {
  assert.deepEqual(show(diffPath(p, f(), d(), none)), ['dir x']);
});

test('orphans below a path the index thought was a file are deleted too', () => {
  assert.deepEqual(show(diffPath(p, f(), undefined, below('x/orphan'))), ['delete x/orphan', 'delete x']);
});

test('needsHash: only when stat says the bytes may differ', () => {
  const fp = { ino: 1, size: 10, mtimeMs: 100.5, ctimeMs: 100.5 };
  assert.equal(needsHash(undefined, fp), true);
  assert.equal(needsHash(fp, { ...fp }), false);
  for (const change of [{ ino: 2 }, { size: 11 }, { mtimeMs: 100.6 }, { ctimeMs: 101 }])
    assert.equal(needsHash(fp, { ...fp, ...change }), true);
});

test('the hybrid clock never goes backwards and never repeats', () => {
  assert.equal(nextSeq(10, 5), 11);
  assert.equal(nextSeq(10, 50.7), 50);
  let now = 1000;
  const steps = [5, -100, 0, 0, 300, -1];
  let i = 0;
  const clock = new SeqClock(990, () => (now += steps[i++ % steps.length]!));
  const seqs = Array.from({ length: 12 }, () => clock.next());
  for (let j = 1; j < seqs.length; j++) assert.ok(seqs[j]! > seqs[j - 1]!, `seq ${seqs[j]} after ${seqs[j - 1]}`);
  assert.equal(clock.lastIssued, seqs.at(-1));
});
