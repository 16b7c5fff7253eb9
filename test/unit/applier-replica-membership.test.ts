// One applier per replica: when a group counts as held, and what a join means.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judgeGroup, judgeJoin, secondApplierMessage } from '../../services/applier/domain/replica-membership.ts';

const member = { memberId: 'm-1', clientId: 'mirrorlog-applier-r1', clientHost: '/10.0.0.7' };

describe('judgeGroup', () => {
  it('a group without live members is free', () => {
    assert.deepEqual(judgeGroup(undefined), { kind: 'free' });
    assert.deepEqual(judgeGroup({ state: 'Empty', members: [] }), { kind: 'free' });
    assert.deepEqual(judgeGroup({ state: 'Dead', members: [] }), { kind: 'free' });
  });

  it('a stable or rebalancing group with a member is held', () => {
    for (const state of ['Stable', 'PreparingRebalance', 'CompletingRebalance']) {
      assert.deepEqual(judgeGroup({ state, members: [member] }), { kind: 'held', members: [member] });
    }
  });
});

describe('judgeJoin', () => {
  it('every partition: the sole member', () => {
    assert.equal(judgeJoin(true, 12, 12), 'sole-member');
    assert.equal(judgeJoin(false, 12, 12), 'sole-member');
  });

  it('a first assignment that lacks partitions: this applier is the second one', () => {
    assert.equal(judgeJoin(true, 6, 12), 'newcomer-to-a-held-group');
    assert.equal(judgeJoin(true, 0, 12), 'newcomer-to-a-held-group');
  });

  it('a later one: another applier came in; this one keeps its place', () => {
    assert.equal(judgeJoin(false, 6, 12), 'another-joined');
  });
});

describe('secondApplierMessage', () => {
  it('names the replica, the group and who holds it, on one line', () => {
    const message = secondApplierMessage('r1', 'mirrorlog.replica.r1', [member]);
    assert.match(
      message,
      /^replica 'r1' already has a running applier \(consumer group mirrorlog\.replica\.r1: mirrorlog-applier-r1 on 10\.0\.0\.7\)/,
    );
    assert.match(message, /without moving the group's offsets$/);
    assert.equal(message.includes('\n'), false);
  });
});
