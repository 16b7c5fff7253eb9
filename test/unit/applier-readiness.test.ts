// /readyz of a running applier: ready only when it could take over now, and the first
// reason that holds is the one it reports.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applierReadiness, type ApplierState } from '../../services/applier/readiness.ts';

const fit: ApplierState = {
  stopping: false,
  storeRefusal: undefined,
  kafkaProblem: undefined,
  assigned: true,
  rebuildRatio: undefined,
  stalled: undefined,
};

test('an applier with its partitions, no rebuild and nothing failing is ready', () => {
  assert.deepEqual(applierReadiness(fit), { ready: true });
});

test('each reason alone makes it not ready, saying why', () => {
  const cases: [Partial<ApplierState>, string][] = [
    [{ stopping: true }, 'stopping'],
    [{ storeRefusal: 'S3 refused the credentials' }, 'S3 refused the credentials'],
    [{ kafkaProblem: 'Kafka at 127.0.0.1:9092 is unreachable' }, 'Kafka at 127.0.0.1:9092 is unreachable'],
    [{ assigned: false }, 'waiting for partition assignment'],
    [{ rebuildRatio: 0.4567 }, 'rebuilding (45.7% replayed)'],
    [{ stalled: 'partition 3: EROFS' }, 'cannot apply: partition 3: EROFS'],
  ];
  for (const [given, reason] of cases)
    assert.deepEqual(applierReadiness({ ...fit, ...given }), { ready: false, reason });
});

test('a replica mid-rebuild is not fit to take over even at 100% replayed (the sweep is still to come)', () => {
  assert.deepEqual(applierReadiness({ ...fit, rebuildRatio: 1 }), {
    ready: false,
    reason: 'rebuilding (100.0% replayed)',
  });
});

test('the first reason wins: stopping over a refused store over an unreachable Kafka over the rest', () => {
  const all: ApplierState = {
    stopping: true,
    storeRefusal: 'refused',
    kafkaProblem: 'unreachable',
    assigned: false,
    rebuildRatio: 0.5,
    stalled: 'stalled',
  };
  assert.equal(applierReadiness(all).reason, 'stopping');
  assert.equal(applierReadiness({ ...all, stopping: false }).reason, 'refused');
  assert.equal(applierReadiness({ ...all, stopping: false, storeRefusal: undefined }).reason, 'unreachable');
  assert.equal(
    applierReadiness({ ...all, stopping: false, storeRefusal: undefined, kafkaProblem: undefined }).reason,
    'waiting for partition assignment',
  );
  assert.equal(
    applierReadiness({ ...all, stopping: false, storeRefusal: undefined, kafkaProblem: undefined, assigned: true })
      .reason,
    'rebuilding (50.0% replayed)',
  );
});
