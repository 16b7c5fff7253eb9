// A rebuild's progress is reported on its injected clock's schedule (every
// progressEveryMs of that clock), with an ETA from the time it measured on it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { FsMaterializer } from '../../services/applier/adapters/fs-materializer.ts';
import { MemoryAppliedIndex } from '../../services/applier/adapters/memory-applied-index.ts';
import type { TargetRoot } from '../../services/applier/adapters/target-root.ts';
import { createApplierMetrics } from '../../services/applier/metrics.ts';
import { RebuildController } from '../../services/applier/rebuild.ts';
import { ManualClock } from '../../services/shared/clock.ts';
import { createLogger } from '../../services/shared/logger.ts';
import { createMetricsRegistry } from '../../services/shared/metrics.ts';

test('a rebuild reports its replay every progressEveryMs of its clock, not of the real one', () => {
  const clock = new ManualClock();
  const lines: { msg: string; etaMs?: number }[] = [];
  const logger = createLogger({
    level: 'info',
    name: 'applier',
    destination: { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) },
  });
  const rebuild = new RebuildController(
    {
      epoch: 1,
      reason: 'requested',
      start: { 0: 0 },
      end: { 0: 100 },
      startedAt: new Date(clock.now()).toISOString(),
      adopt: false,
    },
    {
      index: new MemoryAppliedIndex(),
      // The replay's progress touches neither the replica nor its root (only the sweep does).
      fs: {} as FsMaterializer,
      root: {} as TargetRoot,
      liveTokens: new Set(),
      metrics: createApplierMetrics(createMetricsRegistry('applier-test')),
      logger,
      clock,
      progressEveryMs: 5000,
    },
  );
  const replayed = (next: number) => new Map([[0, next]]);
  rebuild.progress(replayed(0));
  assert.equal(lines.length, 1, 'the first report at once');
  clock.advance(4999);
  rebuild.progress(replayed(10));
  assert.equal(lines.length, 1, 'none before the interval, however long the real wait');
  clock.advance(1);
  rebuild.progress(replayed(25));
  assert.equal(lines.length, 2);
  assert.match(lines[1]!.msg, /^rebuild replay 25\.0% \(25\/100\)/);
  // 25 records in 5 s of the clock: 75 more take 15 s.
  assert.equal(lines[1]!.etaMs, 15_000);
});
