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
import { Reconciler, START_TRIGGER } from '../../services/producer/reconciler.ts';
import { createLogger } from '../../services/shared/logger.ts';
import { defer } from '../helpers/cleanup.ts';

function setup(t: Parameters<typeof defer>[0], rate: number) {
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
        { kind: 'dir', mode: 0o755 },
        d + 1,
        found.kind === 'dir' ? found.fingerprint : undefined,
      );
    }
  });
  const hinted: string[] = [];
  const sleeps: number[] = [];
  const reconciler = new Reconciler({
    tree,
    clock: systemClock,
    index,
    isExcluded: () => false,
    hint: (p) => hinted.push(p),
    metrics: createProducerMetrics(),
    logger: createLogger({ level: 'silent', name: 'test' }),
    rate,
    roomForHints: async () => undefined,
    sleep: async (ms) => void sleeps.push(ms),
  });
  defer(t, () => reconciler.stop());
  return { reconciler, hinted, sleeps };
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
