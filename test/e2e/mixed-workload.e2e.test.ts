// A producer and an applier as real processes on a mixed workload: every kind of
// change, odd names, renames of whole directories, type changes. The replica must end
// up identical to the source, by an independent comparison of both trees.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { waitForReplica } from '../helpers/converge.ts';
import { startMirrorPair } from '../helpers/services.ts';
import { snapshotTree } from '../helpers/tree.ts';
import { Workload } from '../helpers/workload.ts';

test(
  'a mixed workload converges: types, bytes, modes, mtimes, link targets, nothing extra',
  { timeout: 240_000 },
  async (t) => {
    const { source, replica, explain } = await startMirrorPair(t, 'mixed');

    const workload = new Workload(source, 20261125);
    for (let round = 0; round < 6; round++) {
      workload.run(250);
      // Let some rounds converge and others pile onto changes still in flight.
      if (round % 2 === 1) await waitForReplica(source, replica, `after round ${round}`, 60_000, explain);
    }
    await waitForReplica(source, replica, 'after the whole workload', 90_000, explain);
    const tree = await snapshotTree(source);
    const kinds = new Set([...tree.values()].map((e) => e.kind));
    assert.deepEqual([...kinds].sort(), ['dir', 'file', 'symlink'], 'the workload left every kind of entry');
    assert.ok(tree.size > 100, `the workload left a real tree (${tree.size} entries)`);
    assert.ok(
      workload.done.some((op) => op.startsWith('rename dir')),
      'directories were renamed',
    );
  },
);
