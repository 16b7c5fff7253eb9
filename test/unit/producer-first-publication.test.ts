// The first publication of a tree reports an ETA: "estimating" until the tree is counted,
// then the time left at the rate so far, in the metrics and the JSON progress lines.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { NodeSourceTree } from '../../services/producer/adapters/node-source-tree.ts';
import { FirstPublicationProgress } from '../../services/producer/first-publication.ts';
import { createProducerMetrics } from '../../services/producer/metrics.ts';
import { createLogger } from '../../services/shared/logger.ts';
import { defer } from '../helpers/cleanup.ts';

const gauge = async (g: { get(): Promise<{ values: { value: number }[] }> }) => (await g.get()).values[0]!.value;

test('estimating until counted, then the ETA from the rate so far; 0 when done', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlog-first-publication-'));
  defer(t, () => fs.rmSync(dir, { recursive: true, force: true }));
  for (let d = 0; d < 30; d++) {
    fs.mkdirSync(path.join(dir, `d${d}`, 'skip'), { recursive: true });
    for (let f = 0; f < 20; f++) fs.writeFileSync(path.join(dir, `d${d}/f${f}`), '');
  }
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({
    level: 'info',
    name: 'test',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
  });
  const metrics = createProducerMetrics();
  // Each reading of the clock is 5 ms later; the count yields every 8 ms, so it is still running after construction.
  let clockMs = 0;
  let published = 0;
  const progress = new FirstPublicationProgress({
    tree: new NodeSourceTree(dir),
    isExcluded: (p) => p.endsWith('/skip'),
    metrics,
    logger,
    now: () => (clockMs += 5),
    published: () => Promise.resolve(published),
    bar: false,
    logEveryMs: 0,
  });
  published = 10;
  await progress.tick();
  assert.equal(await gauge(metrics.firstPublicationExpected), 0, 'not counted yet');
  assert.ok(Number.isNaN(await gauge(metrics.firstPublicationEta)), 'estimating');
  assert.equal(lines.at(-1)?.['eta'], 'estimating');

  assert.equal(await progress.counted, 30 * 21, 'directories and files, the excluded left out');
  published = 30;
  await progress.tick();
  assert.equal(await gauge(metrics.firstPublicationExpected), 630);
  assert.equal(await gauge(metrics.firstPublicationPublished), 30);
  const eta = await gauge(metrics.firstPublicationEta);
  assert.ok(Number.isFinite(eta) && eta > 0, `ETA ${eta}`);
  const line = lines.at(-1)!;
  assert.equal(line['msg'], 'first publication progress');
  assert.equal(line['expectedEntries'], 630);
  assert.equal(line['etaSeconds'], eta);
  assert.match(String(line['eta']), /^\d+[smhd]/);

  published = 630;
  await progress.stop(true);
  assert.equal(await gauge(metrics.firstPublicationEta), 0);
  assert.equal(lines.at(-1)?.['msg'], 'first publication done');
});
