// A delete the mass-deletion guard held and then allowed while the batch that held it was
// still being sent (a slow send after an outage) is published once that batch is done.
// It was dropped: the guard's requeue found its path still in flight and took that for a
// newer look, so the replica kept the entry until the next periodic walk.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pino } from 'pino';
import { relPath } from '../../schemas/rel-path.ts';
import type { Observation } from '../../services/producer/domain/observation.ts';
import { createProducerMetrics } from '../../services/producer/metrics.ts';
import { Pipeline } from '../../services/producer/pipeline.ts';
import { systemClock } from '../../services/shared/clock.ts';
import { waitFor } from '../helpers/wait.ts';

test('a held delete released while its batch is being sent is published right after it', async () => {
  const examined = new Set<string>();
  const sent: string[][] = [];
  let openFirstSend: () => void = () => undefined;
  const firstSendOpen = new Promise<void>((resolve) => (openFirstSend = resolve));
  const approved = new Set<Observation>();
  const heldDeletes: Observation[] = [];
  let released = false;

  const pipeline: Pipeline = new Pipeline(
    {
      examiner: {
        examine: async (path, firstHintAt) => {
          examined.add(path);
          const observed = path === 'gone' ? undefined : { kind: 'dir' as const, mode: 0o755 };
          return {
            kind: 'observed',
            observation: { path: relPath(path), observed, fingerprint: undefined, firstHintAt },
          };
        },
      },
      publisher: {
        publish: async (batch) => {
          sent.push(batch.map((o) => o.path));
          if (sent.length === 1) await firstSendOpen;
          const held = heldDeletes.find((o) => o.path === 'gone');
          if (sent.length === 2 && held !== undefined) {
            // The guard judges while this batch, which held the delete, is on its way.
            approved.add(held);
            released = true;
            pipeline.requeue([held]);
          }
          return batch.length;
        },
      },
      deletes: {
        admit: (batch) =>
          batch.filter((o) => {
            if (o.observed !== undefined || approved.has(o)) return true;
            heldDeletes.push(o);
            return false;
          }),
        judging: false,
      },
      metrics: createProducerMetrics(),
      logger: pino({ level: 'silent' }),
      clock: systemClock,
      onHintsDropped: () => undefined,
      hasPendingWalks: () => false,
    },
    {
      quietMs: 1,
      workers: 2,
      maxPending: 100,
      maxPendingBytes: 1 << 20,
      maxHints: 100,
      maxBatch: 100,
      maxBatchBytes: 1 << 20,
      maxUnstableMs: 1000,
    },
  );
  pipeline.start();
  try {
    // A first send that hangs, so that the next two paths are examined into one batch.
    pipeline.hint('warm');
    await waitFor('the first send', () => (sent.length === 1 ? true : undefined), 5000, 5);
    pipeline.hint('kept');
    pipeline.hint('gone');
    await waitFor('both examined', () => (examined.has('kept') && examined.has('gone') ? true : undefined), 5000, 5);
    openFirstSend();
    await waitFor('the second send', () => (released ? true : undefined), 5000, 5);
    await pipeline.whenIdle();
    assert.deepEqual(sent.slice(0, 2), [['warm'], ['kept']], 'the delete was held out of its batch');
    assert.deepEqual(sent.slice(2), [['gone']], 'and published once allowed');
  } finally {
    await pipeline.stop(1000);
  }
});
