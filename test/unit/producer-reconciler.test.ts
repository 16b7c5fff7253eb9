import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { relPath } from '../../schemas/rel-path.ts';
import { NodeSourceTree } from '../../services/producer/adapters/node-source-tree.ts';
import { SqliteSourceIndex } from '../../services/producer/adapters/sqlite-source-index.ts';
import { systemClock } from '../../services/shared/clock.ts';
import { createProducerMetrics } from '../../services/producer/metrics.ts';
import { PERIODIC_TRIGGER, Reconciler, START_TRIGGER } from '../../services/producer/reconciler.ts';
import { createLogger } from '../../services/shared/logger.ts';
import { defer } from '../helpers/cleanup.ts';
import { reconcilerOn } from '../helpers/reconciler-on.ts';

/** `legacy`: the directories are indexed as before record format 2 (no owner, no mtime). */
function setup(t: Parameters<typeof defer>[0], rate: number, legacy = false) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlog-reconciler-'));
  defer(t, () => fs.rmSync(dir, { recursive: true, force: true }));
  const root = path.join(dir, 'source');
  for (let d = 0; d < 40; d++) {
    fs.mkdirSync(path.join(root, `d${d}`), { recursive: true });
    for (let f = 0; f < 50; f++) fs.writeFileSync(path.join(root, `d${d}/f${f}`), '');
  }
  const index = new SqliteSourceIndex(path.join(dir, 'index.db'));
  defer(t, () => index.close());
  // Directories known (as they are now), files not: the walk descends into each and finds 50 new files.
  const tree = new NodeSourceTree(root);
  index.transaction(() => {
    for (let d = 0; d < 40; d++) {
      const found = tree.lstat(`d${d}`);
      index.put(
        relPath(`d${d}`),
        found.kind !== 'dir'
          ? never()
          : legacy
            ? { kind: 'dir', mode: found.mode }
            : { kind: 'dir', mode: found.mode, owner: found.owner!, mtimeMs: found.mtimeMs! },
        d + 1,
        found.kind === 'dir' ? found.fingerprint : undefined,
      );
    }
  });
  return reconcilerOn(t, tree, index, rate);
}

function never(): never {
  throw new Error('the directory was just made');
}

test('the start-up walk is not held to the rate limit: the producer is not live until it ends', async (t) => {
  const { reconciler, hinted, sleeps } = setup(t, 100);
  const stats = await reconciler.run(START_TRIGGER);
  assert.equal(stats.entries, 2040);
  assert.equal(hinted.length, 2000, 'every file missing from the index is a difference');
  assert.deepEqual(sleeps, []);
});

test('a walk while live keeps to the rate limit', async (t) => {
  const { reconciler, sleeps } = setup(t, 100);
  const stats = await reconciler.run('periodic');
  assert.equal(stats.entries, 2040);
  // 2,040 entries at 100/s: ~20 s of waiting, in waits of at most 1 s.
  const waited = sleeps.reduce((sum, ms) => sum + ms, 0);
  assert.ok(waited > 15_000 && sleeps.every((ms) => ms <= 1000), `waited ${waited} ms in ${sleeps.length} sleeps`);
});

test('a subtree check hints what changed below a directory, and nothing outside it', async (t) => {
  const { reconciler, hinted } = setup(t, 100);
  const found = await reconciler.checkSubtree('d3');
  assert.equal(found, 50);
  assert.ok(hinted.every((p) => p.startsWith('d3/')) && hinted.length === 50, hinted.slice(0, 3).join(','));
});

test('a walk after a loss compares the directories busy before it first, then the whole tree', async (t) => {
  const { reconciler, hinted } = setup(t, 1e9);
  await reconciler.run('watcher-overflow');
  const dirOf = (p: string) => p.slice(0, p.indexOf('/'));
  const last = dirOf(hinted.at(-1)!);
  assert.notEqual(dirOf(hinted[0]!), last, 'without a first list, the last directory walked is not the first');
  hinted.length = 0;
  const stats = await reconciler.run('watcher-overflow', [last, 'd-gone-since']);
  assert.deepEqual(
    new Set(hinted.slice(0, 50).map(dirOf)),
    new Set([last]),
    `the first 50 hints: ${hinted.slice(0, 3).join(', ')}...`,
  );
  assert.equal(hinted[50], 'd-gone-since', 'a busy directory gone since is hinted, so its deletion is published');
  assert.equal(new Set(hinted).size, 2001, 'then the whole tree, all of it');
  assert.equal(stats.entries, 2040, 'entries are counted once');
});

/** A tree of `dirs` directories of `files` files each, and an empty index. */
function etaSetup(t: Parameters<typeof defer>[0], dirs: number, files: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlog-reconciler-eta-'));
  defer(t, () => fs.rmSync(dir, { recursive: true, force: true }));
  const root = path.join(dir, 'source');
  for (let d = 0; d < dirs; d++) {
    fs.mkdirSync(path.join(root, `d${d}`), { recursive: true });
    for (let f = 0; f < files; f++) fs.writeFileSync(path.join(root, `d${d}/f${f}`), '');
  }
  const index = new SqliteSourceIndex(path.join(dir, 'index.db'));
  defer(t, () => index.close());
  // Each reading of the clock is 5 ms later: the walk takes time, so it has a rate.
  let clockMs = 0;
  const metrics = createProducerMetrics();
  const seen: { expected: number; eta: number }[] = [];
  const gauge = async (g: { get(): Promise<{ values: { value: number }[] }> }) => (await g.get()).values[0]!.value;
  const tree = new NodeSourceTree(root);
  const reconciler = new Reconciler({
    tree,
    clock: { ...systemClock, now: () => (clockMs += 5) },
    index,
    isExcluded: () => false,
    hint: () => undefined,
    metrics,
    logger: createLogger({ level: 'silent', name: 'test' }),
    rate: 1e9,
    roomForHints: async () => {
      seen.push({ expected: await gauge(metrics.reconcileExpected), eta: await gauge(metrics.reconcileEta) });
    },
    sleep: async () => undefined,
  });
  defer(t, () => reconciler.stop());
  /** The whole tree in the index, as after a first publication. */
  const indexAll = () =>
    index.transaction(() => {
      let seq = 1;
      for (let d = 0; d < dirs; d++) {
        const found = tree.lstat(`d${d}`);
        const fp = found.kind === 'dir' ? found.fingerprint : undefined;
        index.put(relPath(`d${d}`), { kind: 'dir', mode: 0o755 }, seq++, fp);
        for (let f = 0; f < files; f++) {
          const file = tree.lstat(`d${d}/f${f}`);
          if (file.kind === 'file')
            index.put(
              relPath(`d${d}/f${f}`),
              { kind: 'file', size: 0, mode: 0o644, mtimeMs: file.mtimeMs, hash: 'h' },
              seq++,
              file.fingerprint,
            );
        }
      }
    });
  return { reconciler, seen, metrics, gauge, indexAll };
}

test('a walk over an indexed tree expects its entries and gives an ETA from the rate so far', async (t) => {
  const { reconciler, seen, metrics, gauge, indexAll } = etaSetup(t, 60, 40);
  indexAll();
  const stats = await reconciler.run(START_TRIGGER);
  assert.equal(stats.entries, 60 * 41);
  assert.ok(seen.length > 0 && seen.every((s) => s.expected === 60 * 41), JSON.stringify(seen.slice(0, 3)));
  assert.ok(
    seen.every((s) => Number.isFinite(s.eta)),
    'an ETA from the first update on',
  );
  assert.ok(
    seen.some((s) => s.eta > 0),
    'time left while walking',
  );
  assert.equal(await gauge(metrics.reconcileEta), 0, 'none left at the end');
});

test('a walk without a basis (empty index, not a first publication) says estimating', async (t) => {
  const { reconciler, seen } = etaSetup(t, 20, 10);
  await reconciler.run('periodic');
  assert.ok(seen.length > 0);
  assert.ok(
    seen.every((s) => s.expected === 0 && Number.isNaN(s.eta)),
    JSON.stringify(seen.slice(0, 3)),
  );
});

test('after an upgrade, the start-up walk leaves owners and directory times to the periodic walk', async (t) => {
  const { reconciler, hinted } = setup(t, 1_000_000, true);
  await reconciler.run(START_TRIGGER);
  assert.equal(hinted.length, 2000, 'only the files missing from the index: the producer is live sooner');
  hinted.length = 0;
  await reconciler.run(PERIODIC_TRIGGER);
  assert.equal(hinted.filter((p) => /^d\d+$/.test(p)).length, 40, 'the periodic walk publishes their metadata');
});
