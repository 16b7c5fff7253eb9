// What verify compares against, and when --repair must refuse (a good replica compared
// against offsets someone else moved looks full of "extra" entries).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseVerifyBasis, splitExtras, type ReplicaRecord } from '../../services/cli/verify-basis.ts';

const offsets = (...values: number[]) => new Map(values.map((value, partition) => [partition, value]));
const found = (overrides: Partial<Extract<ReplicaRecord, { kind: 'found' }>> = {}): ReplicaRecord => ({
  kind: 'found',
  stateDir: '/state/r1',
  identity: { replica: 'r1', topic: 't' },
  positions: offsets(50, 40),
  rebuildInProgress: false,
  ...overrides,
});
const basis = (record: ReplicaRecord, group = offsets(50, 40)) =>
  chooseVerifyBasis({ replica: 'r1', topic: 't', partitions: [0, 1], group, record });

describe('chooseVerifyBasis', () => {
  it('index and group agree: compare against the index, repair allowed', () => {
    const result = basis(found());
    assert.equal(result.source, 'index');
    assert.deepEqual(result.upTo, offsets(50, 40));
    assert.deepEqual(result.warnings, []);
    assert.equal(result.repairRefusal, undefined);
  });

  it('the group reset to 0 by a second applier: compare against the index, warn, refuse repair', () => {
    const result = basis(found(), offsets(0, 0));
    assert.equal(result.source, 'index');
    assert.deepEqual(result.upTo, offsets(50, 40));
    assert.equal(result.warnings.length, 1);
    assert.match(result.warnings[0]!, /p0:0 p1:0.*p0:50 p1:40.*2 partition/);
    assert.match(result.repairRefusal ?? '', /disagree/);
  });

  it('a partition missing from the group counts as disagreeing', () => {
    assert.match(basis(found(), offsets(50)).repairRefusal ?? '', /disagree/);
  });

  it('mid-rebuild: incomplete (a warning), repair refused', () => {
    const result = basis(found({ rebuildInProgress: true }));
    assert.match(result.warnings[0] ?? '', /rebuild/);
    assert.match(result.repairRefusal ?? '', /rebuild is in progress/);
  });

  it('no state directory: the group is all there is; repair refused', () => {
    const result = basis({ kind: 'absent', stateDir: '/nowhere' });
    assert.equal(result.source, 'group');
    assert.deepEqual(result.warnings, []);
    assert.match(result.repairRefusal ?? '', /no replica state in \/nowhere.*--state-dir/);
    assert.equal(basis({ kind: 'absent', stateDir: '/nowhere' }, new Map()).source, 'log-end');
  });

  it('a state directory of another replica or topic, or one that applied nothing: repair refused', () => {
    assert.match(
      basis(found({ identity: { replica: 'r2', topic: 't' } })).repairRefusal ?? '',
      /belongs to replica 'r2'/,
    );
    assert.match(basis(found({ positions: undefined })).repairRefusal ?? '', /applied nothing/);
    assert.match(
      basis({ kind: 'unreadable', stateDir: '/s', reason: 'locked' }).repairRefusal ?? '',
      /cannot read.*locked/,
    );
  });
});

describe('splitExtras', () => {
  it('what the current log holds is ahead, not extra', () => {
    const current = new Set(['a/new']);
    assert.deepEqual(
      splitExtras(['junk', 'a/new'], (path) => current.has(path)),
      { extra: ['junk'], ahead: ['a/new'] },
    );
  });
});
