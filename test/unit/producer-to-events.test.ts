// The producer's pure domain, given / when / then: what the index holds, what was
// observed, which events and index writes come out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EntryState } from '../../schemas/event.ts';
import { relPath, type RelPath } from '../../schemas/rel-path.ts';
import { MemorySourceIndex } from '../../services/producer/adapters/memory-source-index.ts';
import type { Fingerprint } from '../../services/producer/domain/diff.ts';
import { planExamination } from '../../services/producer/domain/examine-plan.ts';
import type { Observation } from '../../services/producer/domain/observation.ts';
import { SeqClock } from '../../services/producer/domain/seq-clock.ts';
import { planBatch } from '../../services/producer/domain/to-events.ts';

const dir: EntryState = { kind: 'dir', mode: 0o755 };
const file = (hash: string): EntryState => ({ kind: 'file', size: 1, mode: 0o644, mtimeMs: 5, hash: hash.repeat(64) });
const fp = (ino: number, ctimeMs = 1): Fingerprint => ({ ino, size: 1, mtimeMs: 5, ctimeMs });

function given(entries: [string, EntryState][], dirsNow: string[] = []) {
  const index = new MemorySourceIndex();
  entries.forEach(([path, state], i) => index.put(relPath(path), state, i + 1, undefined));
  const when = (...batch: [string, EntryState | undefined][]) => {
    const observations: Observation[] = batch.map(([path, observed]) => ({
      path: relPath(path),
      observed,
      fingerprint: undefined,
      firstHintAt: 7,
    }));
    const plan = planBatch(observations, {
      source: 's',
      index,
      clock: new SeqClock(100, () => 0),
      dirModeNow: (p) => (dirsNow.includes(p) ? 0o755 : undefined),
    });
    return {
      events: plan.events.map((e) => `${e.seq} ${e.op} ${e.path}`),
      writes: plan.writes.map((w) => `${w.op} ${w.path}`).sort(),
      examine: plan.examine,
    };
  };
  return { when };
}

test('a file under directories the index does not know publishes them first, and has them examined', () => {
  const then = given([], ['a', 'a/b']).when(['a/b/f', file('1')]);
  assert.deepEqual(then.events, ['101 dir a', '102 dir a/b', '103 file a/b/f']);
  assert.deepEqual(then.examine, ['a', 'a/b']);
});

test('an observation under an ancestor that is gone is stale: nothing is published', () => {
  assert.deepEqual(given([]).when(['gone/f', file('1')]).events, []);
});

test('a vanished directory deletes what the index holds below it first, deepest first', () => {
  const then = given([
    ['d', dir],
    ['d/e', dir],
    ['d/e/f', file('1')],
    ['d/g', file('2')],
  ]).when(['d', undefined]);
  assert.deepEqual(then.events, ['101 delete d/e/f', '102 delete d/e', '103 delete d/g', '104 delete d']);
  assert.deepEqual(then.writes, ['remove d', 'remove d/e', 'remove d/e/f', 'remove d/g']);
});

test('a rename is a delete of the old path and the new path with the same hash', () => {
  const then = given([['old', file('9')]]).when(['old', undefined], ['new', file('9')]);
  assert.deepEqual(then.events, ['101 delete old', '102 file new']);
});

test('later observations of a batch see the earlier ones (the overlay): a recreated parent is published again', () => {
  const then = given(
    [
      ['d', dir],
      ['d/f', file('1')],
    ],
    ['d'],
  ).when(['d', undefined], ['d/f', file('2')]);
  assert.deepEqual(then.events, ['101 delete d/f', '102 delete d', '103 dir d', '104 file d/f']);
  assert.deepEqual(then.writes, ['put d', 'put d/f']);
});

test('the same state with a new stat publishes nothing but records the fingerprint', () => {
  const index = new MemorySourceIndex();
  index.put(relPath('f'), file('1'), 1, fp(1));
  const observation: Observation = { path: relPath('f'), observed: file('1'), fingerprint: fp(1, 2), firstHintAt: 0 };
  const plan = planBatch([observation], {
    source: 's',
    index,
    clock: new SeqClock(0, () => 0),
    dirModeNow: () => undefined,
  });
  assert.deepEqual(plan.events, []);
  assert.deepEqual(plan.writes, [{ op: 'put', path: 'f' as RelPath, state: file('1'), seq: 1, fingerprint: fp(1, 2) }]);
});

test('examination plans: a known directory is examined in full once its inode or ctime changed (H3)', () => {
  const indexed = { path: relPath('d'), state: dir, seq: 1, fingerprint: fp(4, 10) };
  const now = (ino: number, ctimeMs: number) => ({ kind: 'dir' as const, mode: 0o755, fingerprint: fp(ino, ctimeMs) });
  assert.deepEqual(planExamination(now(4, 10), indexed), { do: 'examine-dir', how: 'names-only' });
  assert.deepEqual(planExamination(now(5, 10), indexed), { do: 'examine-dir', how: 'new' });
  assert.deepEqual(
    planExamination(now(4, 11), indexed),
    { do: 'examine-dir', how: 'new' },
    'inode reused by rm -rf + mkdir',
  );
  assert.deepEqual(planExamination(now(4, 10), undefined), { do: 'examine-dir', how: 'new' });
});

test('examination plans: what to read, keep, publish as gone or skip', () => {
  const indexedFile = { path: relPath('f'), state: file('1'), seq: 1, fingerprint: fp(3) };
  const probe = (fingerprint: Fingerprint) => ({ kind: 'file' as const, mode: 0o644, fingerprint, mtimeMs: 5 });
  assert.deepEqual(planExamination(probe(fp(3)), indexedFile), { do: 'keep-file' });
  assert.deepEqual(planExamination(probe(fp(3, 2)), indexedFile), { do: 'read-file' });
  assert.deepEqual(planExamination({ kind: 'missing' }, indexedFile), {
    do: 'absent',
    publish: true,
    checkParent: true,
  });
  assert.deepEqual(planExamination({ kind: 'missing' }, undefined), {
    do: 'absent',
    publish: false,
    checkParent: true,
  });
  assert.deepEqual(planExamination({ kind: 'special' }, indexedFile), {
    do: 'absent',
    publish: true,
    checkParent: false,
  });
  assert.deepEqual(planExamination({ kind: 'unreadable', code: 'EACCES' }, indexedFile), {
    do: 'skip-unreadable',
    code: 'EACCES',
  });
});
