import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  formatStatus,
  needsAttention,
  parseCommitNote,
  replicaStatus,
  type GroupSample,
  type ReplicaFacts,
} from '../../services/cli/status-report.ts';

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
  const status = replicaStatus(
    offsets,
    sample(
      [
        [0, 80],
        [1, -1],
      ],
      1000,
    ),
    sample(
      [
        [0, 90],
        [1, 20],
      ],
      2000,
    ),
    2,
    2500,
    60_000,
  );
  assert.deepEqual(status.lagByPartition, { 0: 10, 1: 30 });
  assert.equal(status.lag, 40);
  assert.equal(status.eventsPerSecond, 10); // (90-80) + (20-10) over 2 s
  assert.equal(status.lastAppliedAt, 2000);
  assert.equal(status.stalled, false);
});

test('stalled: behind, nothing committed during the sample, and idle past the threshold', () => {
  const same = sample(
    [
      [0, 90],
      [1, 50],
    ],
    1000,
  );
  assert.equal(replicaStatus(offsets, same, same, 2, 70_000, 60_000).stalled, true);
  assert.equal(replicaStatus(offsets, same, same, 2, 30_000, 60_000).stalled, false, 'idle, but not for long');
  const synced = sample(
    [
      [0, 100],
      [1, 50],
    ],
    1000,
  );
  assert.equal(replicaStatus(offsets, synced, synced, 2, 999_999, 60_000).stalled, false, 'in sync is never stalled');
  const neverCommitted = sample([]);
  assert.equal(
    replicaStatus(offsets, neverCommitted, neverCommitted, 2, 0, 60_000).stalled,
    true,
    'behind with no commit at all',
  );
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
    replicas: [
      replicaStatus(
        offsets,
        sample(
          [
            [0, 90],
            [1, 50],
          ],
          1000,
        ),
        sample(
          [
            [0, 90],
            [1, 50],
          ],
          1000,
        ),
        2,
        100_000,
        60_000,
      ),
    ],
  });
  assert.match(text, /producer: last seq 42, published 1s ago/);
  assert.match(text, /replica r1: STALLED, lag 10 \(p0:10\)/);
});

// Reproduction: "in sync" for a replica with dead letters, during a split group, and
// "STALLED" forever for one whose applier is gone.
const synced = (
  note: Partial<{ appliedAt: number; aliveAt: number; problem: string }> = { appliedAt: 1000, aliveAt: 90_000 },
): GroupSample => ({
  replica: 'r1',
  committed: new Map([
    [0, 100],
    [1, 50],
  ]),
  notes: new Map([[0, note]]),
});
const facts: ReplicaFacts = { members: 1, deadLetters: 0, lastVerify: undefined };

test('in sync only with lag 0, one applier, no dead letters, no failure and a clean last verify', () => {
  const status = replicaStatus(offsets, synced(), synced(), 2, 100_000, 60_000, facts, 120_000);
  assert.equal(status.state, 'in sync');
  assert.deepEqual(status.problems, []);
  const cases: [Partial<typeof facts> & { note?: Parameters<typeof synced>[0] }, RegExp][] = [
    [{ members: 2 }, /^2 appliers share this replica's group/],
    [{ deadLetters: 3 }, /^3 dead letter\(s\) outstanding$/],
    [
      { note: { appliedAt: 1000, aliveAt: 95_000, problem: 'partition 2: EACCES on a/b' } },
      /^failing: partition 2: EACCES on a\/b$/,
    ],
    [
      { lastVerify: { at: 50_000, drifts: 585 } },
      /^the last verify \(1970-01-01T00:00:50\.000Z\) found 585 drift\(s\)$/,
    ],
  ];
  for (const [change, problem] of cases) {
    const { note, ...rest } = change;
    const sample = synced(note);
    const result = replicaStatus(offsets, sample, sample, 2, 100_000, 60_000, { ...facts, ...rest }, 120_000);
    assert.equal(result.state, 'not in sync', JSON.stringify(change));
    assert.equal(result.problems.length, 1);
    assert.match(result.problems[0]!, problem);
    assert.ok(needsAttention(result));
  }
  const clean = replicaStatus(
    offsets,
    synced(),
    synced(),
    2,
    100_000,
    60_000,
    { ...facts, lastVerify: { at: 50_000, drifts: 0 } },
    120_000,
  );
  assert.equal(clean.state, 'in sync', 'a clean verify keeps it in sync');
});

test('an applier gone longer than the threshold is offline since its last heartbeat, not stalled forever', () => {
  const behind: GroupSample = {
    replica: 'r1',
    committed: new Map([
      [0, 90],
      [1, 50],
    ]),
    notes: new Map([[0, { appliedAt: 1000, aliveAt: 30_000 }]]),
  };
  const gone = replicaStatus(offsets, behind, behind, 2, 200_000, 60_000, { ...facts, members: 0 }, 120_000);
  assert.equal(gone.state, 'offline');
  assert.equal(gone.offlineSince, 30_000);
  assert.equal(gone.stalled, false);
  assert.match(
    formatStatus({ topic: 't', at: 200_000, records: 1, producer: undefined, replicas: [gone] }),
    /replica r1: offline since 1970-01-01T00:00:30\.000Z, lag 10/,
  );
  const recent = replicaStatus(offsets, behind, behind, 2, 100_000, 60_000, { ...facts, members: 0 }, 120_000);
  assert.equal(recent.state, 'stalled', 'gone for less than the threshold: still stalled');
  const catching = replicaStatus(
    offsets,
    behind,
    {
      ...behind,
      committed: new Map([
        [0, 95],
        [1, 50],
      ]),
    },
    2,
    31_000,
    60_000,
    facts,
    120_000,
  );
  assert.equal(catching.state, 'catching up');
  assert.equal(needsAttention(catching), false);
});
