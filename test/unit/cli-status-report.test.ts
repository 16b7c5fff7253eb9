import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatStatus, parseCommitNote, replicaStatus, type GroupSample } from '../../services/cli/status-report.ts';

const offsets = [
  { partition: 0, low: 0, high: 100 },
  { partition: 1, low: 10, high: 50 },
];
const sample = (committed: [number, number][], appliedAt?: number): GroupSample => ({
  replica: 'r1',
  committed: new Map(committed),
  notes: new Map(appliedAt === undefined ? [] : [[0, { appliedAt }]]),
});

test('lag per partition and in total; rate from the two samples', () => {
  const status = replicaStatus(offsets, sample([[0, 80], [1, -1]], 1000), sample([[0, 90], [1, 20]], 2000), 2, 2500, 60_000);
  assert.deepEqual(status.lagByPartition, { 0: 10, 1: 30 });
  assert.equal(status.lag, 40);
  assert.equal(status.eventsPerSecond, 10); // (90-80) + (20-10) over 2 s
  assert.equal(status.lastAppliedAt, 2000);
  assert.equal(status.stalled, false);
});

test('stalled: behind, nothing committed during the sample, and idle past the threshold', () => {
  const same = sample([[0, 90], [1, 50]], 1000);
  assert.equal(replicaStatus(offsets, same, same, 2, 70_000, 60_000).stalled, true);
  assert.equal(replicaStatus(offsets, same, same, 2, 30_000, 60_000).stalled, false, 'idle, but not for long');
  const synced = sample([[0, 100], [1, 50]], 1000);
  assert.equal(replicaStatus(offsets, synced, synced, 2, 999_999, 60_000).stalled, false, 'in sync is never stalled');
  const neverCommitted = sample([]);
  assert.equal(replicaStatus(offsets, neverCommitted, neverCommitted, 2, 0, 60_000).stalled, true, 'behind with no commit at all');
});

test('commit notes: JSON from the applier, anything else ignored', () => {
  assert.deepEqual(parseCommitNote('{"appliedAt":5}'), { appliedAt: 5 });
  for (const junk of [null, undefined, '', 'x', '{"appliedAt":"5"}']) assert.equal(parseCommitNote(junk), undefined);
});

test('the text report says what matters first', () => {
  const text = formatStatus({
    topic: 't',
    at: 100_000,
    records: 140,
    producer: { lastSeq: 42, lastPublishedAt: 99_000 },
    replicas: [replicaStatus(offsets, sample([[0, 90], [1, 50]], 1000), sample([[0, 90], [1, 50]], 1000), 2, 100_000, 60_000)],
  });
  assert.match(text, /producer: last seq 42, published 1s ago/);
  assert.match(text, /replica r1: STALLED, lag 10 \(p0:10\)/);
});
