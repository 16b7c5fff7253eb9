// Resume or rebuild, replay progress, and the durable positions the applier stores.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  estimateRemainingMs,
  formatDuration,
  planStart,
  replayProgress,
  type StartFacts,
} from '../../services/applier/domain/rebuild-policy.ts';
import { Positions, positionsFromJson, positionsToJson } from '../../services/applier/positions.ts';

const offsets = (...values: number[]) => new Map(values.map((value, partition) => [partition, value]));
const facts = (overrides: Partial<StartFacts> = {}): StartFacts => ({
  hasState: true,
  rebuildInProgress: false,
  rebuildRequested: false,
  adoptRequested: false,
  targetEmpty: false,
  indexHasEntries: true,
  positions: offsets(10, 20),
  earliest: offsets(0, 0),
  partitions: 2,
  ...overrides,
});

describe('planStart', () => {
  it('resumes where the stored positions are still in the log', () => {
    assert.deepEqual(planStart(facts()), { kind: 'resume' });
    assert.deepEqual(planStart(facts({ earliest: offsets(10, 20) })), { kind: 'resume' });
  });

  it('rebuilds, keeping the index, when a position fell out of the log or is unknown', () => {
    const expired = { kind: 'rebuild', reason: 'position-expired', clearIndex: false };
    assert.deepEqual(planStart(facts({ earliest: offsets(11, 0) })), expired);
    assert.deepEqual(planStart(facts({ positions: offsets(10) })), expired);
  });

  it('a new replica on an empty target replays everything', () => {
    const fresh = { hasState: false, indexHasEntries: false, positions: new Map(), targetEmpty: true };
    assert.deepEqual(planStart(facts(fresh)), { kind: 'rebuild', reason: 'new-replica', clearIndex: false });
  });

  it('a new replica on a target that holds files is refused unless --adopt or --rebuild says so', () => {
    const overFull = { hasState: false, indexHasEntries: false, positions: new Map(), targetEmpty: false };
    assert.deepEqual(planStart(facts(overFull)), { kind: 'refuse', reason: 'target-not-empty' });
    assert.deepEqual(planStart(facts({ ...overFull, adoptRequested: true })), {
      kind: 'rebuild',
      reason: 'new-replica',
      clearIndex: false,
    });
    assert.deepEqual(planStart(facts({ ...overFull, rebuildRequested: true })), {
      kind: 'rebuild',
      reason: 'requested',
      clearIndex: true,
    });
    // Nothing in the log: any rebuild over files would only delete them.
    assert.deepEqual(planStart(facts({ ...overFull, adoptRequested: true, logEmpty: true })), {
      kind: 'refuse',
      reason: 'empty-log',
    });
    assert.deepEqual(planStart(facts({ rebuildRequested: true, logEmpty: true })), {
      kind: 'refuse',
      reason: 'empty-log',
    });
    assert.deepEqual(planStart(facts({ ...overFull, targetEmpty: true, logEmpty: true })), {
      kind: 'rebuild',
      reason: 'new-replica',
      clearIndex: false,
    });
    // An existing replica (state present) with files on its target just resumes.
    assert.deepEqual(planStart(facts({ targetEmpty: false })), { kind: 'resume' });
  });

  it('a wiped target with a populated index rebuilds from scratch, even mid-rebuild', () => {
    const wiped = { kind: 'rebuild', reason: 'target-empty', clearIndex: true };
    assert.deepEqual(planStart(facts({ targetEmpty: true })), wiped);
    assert.deepEqual(planStart(facts({ targetEmpty: true, rebuildInProgress: true })), wiped);
    assert.deepEqual(planStart(facts({ targetEmpty: true, indexHasEntries: false })), { kind: 'resume' });
  });

  it('--rebuild starts a rebuild from scratch, unless one is in progress (then it continues)', () => {
    assert.deepEqual(planStart(facts({ rebuildRequested: true })), {
      kind: 'rebuild',
      reason: 'requested',
      clearIndex: true,
    });
    assert.deepEqual(planStart(facts({ rebuildRequested: true, rebuildInProgress: true })), {
      kind: 'continue-rebuild',
    });
    assert.deepEqual(planStart(facts({ rebuildInProgress: true, earliest: offsets(5, 5) })), {
      kind: 'continue-rebuild',
    });
  });

  it(
    'an interrupted rebuild whose position fell out of the log starts a new one ' +
      '(its sweep must see the new epoch)',
    () => {
      assert.deepEqual(planStart(facts({ rebuildInProgress: true, earliest: offsets(99, 99) })), {
        kind: 'rebuild',
        reason: 'position-expired',
        clearIndex: false,
      });
    },
  );
});

describe('replay progress', () => {
  it('counts offsets replayed between start and end over all partitions', () => {
    const start = offsets(0, 10, 5);
    const end = offsets(100, 10, 105);
    assert.deepEqual(replayProgress(start, end, offsets(50, 10, 5)), {
      done: 50,
      total: 200,
      ratio: 0.25,
      complete: false,
    });
    assert.deepEqual(replayProgress(start, end, offsets(100, 10, 200)), {
      done: 200,
      total: 200,
      ratio: 1,
      complete: true,
    });
    assert.deepEqual(replayProgress(offsets(0), offsets(0), offsets(0)), {
      done: 0,
      total: 0,
      ratio: 1,
      complete: true,
    });
  });

  it('estimates the remaining time from the average rate so far', () => {
    const progress = replayProgress(offsets(0), offsets(1000), offsets(250));
    assert.equal(estimateRemainingMs(progress, 50, 2000), 7500);
    assert.equal(estimateRemainingMs(progress, 250, 2000), undefined);
    assert.equal(estimateRemainingMs(progress, 0, 500), undefined);
    assert.equal(formatDuration(7500), '8s');
    assert.equal(formatDuration(185_000), '3m05s');
    assert.equal(formatDuration(3_725_000), '1h02m');
  });
});

describe('Positions', () => {
  it('stops the durable position at the first dead letter Kafka has not acknowledged', () => {
    const positions = new Positions();
    positions.init(0, 5);
    positions.init(1, 0);
    positions.fetched(0, 20);
    for (let offset = 5; offset < 12; offset++) positions.applied(0, offset);
    positions.deadLetterSent(0, 7, false);
    positions.deadLetterSent(0, 9, false);
    assert.deepEqual(
      [...positions.durable()],
      [
        [0, 7],
        [1, 0],
      ],
    );
    positions.deadLetterSent(0, 7, true);
    assert.deepEqual(positions.durable().get(0), 9);
    positions.deadLetterSent(0, 9, true);
    assert.deepEqual(positions.durable().get(0), 12);
    assert.equal(positions.nextToFetch(0), 20);
    positions.highWatermark(0, 30);
    assert.equal(positions.lag(0), 18);
    assert.deepEqual(positionsFromJson(positionsToJson(positions.durable())), positions.durable());
  });
});
