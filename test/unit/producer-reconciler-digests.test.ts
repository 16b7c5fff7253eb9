import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { relPath } from '../../schemas/rel-path.ts';
import { NodeSourceTree } from '../../services/producer/adapters/node-source-tree.ts';
import { SqliteSourceIndex } from '../../services/producer/adapters/sqlite-source-index.ts';
import { PERIODIC_TRIGGER, START_TRIGGER } from '../../services/producer/reconciler.ts';
import { defer } from '../helpers/cleanup.ts';
import { reconcilerOn } from '../helpers/reconciler-on.ts';

const DIRS = 6;
const FILES = 20;

/** A tree of DIRS directories of FILES files, indexed exactly as it is, owners and times included. */
function setup(t: Parameters<typeof defer>[0]) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlog-digests-'));
  defer(t, () => fs.rmSync(dir, { recursive: true, force: true }));
  const root = path.join(dir, 'source');
  for (let d = 0; d < DIRS; d++) {
    fs.mkdirSync(path.join(root, `d${d}`), { recursive: true });
    for (let f = 0; f < FILES; f++) fs.writeFileSync(path.join(root, `d${d}/f${f}`), `${d}/${f}`);
  }
  const tree = new NodeSourceTree(root);
  const index = new SqliteSourceIndex(path.join(dir, 'index.db'));
  defer(t, () => index.close());
  let seq = 1;
  const indexAs = (p: string) => {
    const found = tree.lstat(p);
    if (found.kind === 'dir')
      index.put(
        relPath(p),
        { kind: 'dir', mode: found.mode, owner: found.owner!, mtimeMs: found.mtimeMs! },
        seq++,
        found.fingerprint,
      );
    else if (found.kind === 'file')
      index.put(
        relPath(p),
        {
          kind: 'file',
          size: found.fingerprint.size,
          mode: found.mode,
          mtimeMs: found.mtimeMs,
          hash: 'h'.repeat(64),
          owner: found.owner!,
        },
        seq++,
        found.fingerprint,
      );
    else throw new Error(`${p} is ${found.kind}`);
  };
  index.transaction(() => {
    for (let d = 0; d < DIRS; d++) {
      indexAs(`d${d}`);
      for (let f = 0; f < FILES; f++) indexAs(`d${d}/f${f}`);
    }
  });
  // Counts the directories whose indexed children are read.
  const read: string[] = [];
  const childSummaries = index.childSummaries.bind(index);
  index.childSummaries = (d: string) => (read.push(d), childSummaries(d));
  const { reconciler, hinted } = reconcilerOn(t, tree, index);
  return { root, index, reconciler, hinted, read, indexAs };
}

test('a walk reads the indexed children only of directories whose listing changed since they matched', async (t) => {
  const { root, reconciler, hinted, read } = setup(t);
  const first = await reconciler.run(START_TRIGGER);
  assert.deepEqual(
    [first.differences, first.unchangedDirs, read.length],
    [0, 0, DIRS + 1],
    'the first walk compares all',
  );
  read.length = 0;
  const second = await reconciler.run(START_TRIGGER);
  assert.deepEqual([second.differences, second.unchangedDirs, second.dirs, read.length], [0, DIRS + 1, DIRS + 1, 0]);
  assert.equal(second.entries, DIRS * (FILES + 1), 'every entry is still listed and stat-ed');

  // A file rewritten (its size and times move), one added: only their directory is compared again.
  fs.writeFileSync(path.join(root, 'd2/f3'), 'longer content');
  fs.writeFileSync(path.join(root, 'd4/new'), 'x');
  read.length = 0;
  const third = await reconciler.run(PERIODIC_TRIGGER);
  // d4's own mtime moved with the new name; the root's listing with it.
  assert.deepEqual(hinted.sort(), ['d2/f3', 'd4', 'd4/new']);
  assert.deepEqual(read.sort(), ['', 'd2', 'd4']);
  assert.equal(third.unchangedDirs, DIRS - 2);
});

test('a write to the index alone has its directory compared again: the digest speaks for the index too', async (t) => {
  const { index, reconciler, hinted, read, indexAs } = setup(t);
  await reconciler.run(START_TRIGGER);
  await reconciler.run(START_TRIGGER);
  index.remove(relPath('d1/f7')); // as when a publication of the file was lost: the walk must find it again
  read.length = 0;
  const stats = await reconciler.run(START_TRIGGER);
  assert.deepEqual(hinted, ['d1/f7']);
  assert.deepEqual(read, ['d1']);
  assert.equal(stats.unchangedDirs, DIRS);
  indexAs('d1/f7');
  hinted.length = 0;
  await reconciler.run(START_TRIGGER);
  assert.deepEqual(hinted, []);
});

test('a walk after a loss compares every directory, digests or not', async (t) => {
  const { reconciler, read } = setup(t);
  await reconciler.run(START_TRIGGER);
  read.length = 0;
  const stats = await reconciler.run('watcher-overflow');
  assert.deepEqual([stats.unchangedDirs, read.length], [0, DIRS + 1]);
});

test('no digest is kept for a directory the start-up walk let differences go in (an older index)', async (t) => {
  const { index, reconciler, read } = setup(t);
  // d0 indexed as before record format 2: no owner, no own mtime. The start-up walk defers that.
  const d0 = index.get(relPath('d0'))!;
  index.put(relPath('d0'), { kind: 'dir', mode: d0.state.kind === 'dir' ? d0.state.mode : 0 }, d0.seq, d0.fingerprint);
  await reconciler.run(START_TRIGGER);
  read.length = 0;
  await reconciler.run(START_TRIGGER);
  assert.deepEqual(read, [''], 'the root is compared again: its child d0 is not what the index holds');
});
