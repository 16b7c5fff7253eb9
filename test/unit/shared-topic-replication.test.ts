// Replication of mirrorlog's topics by cluster size: 3 copies with 2 in sync on 3+ brokers,
// one copy refused on a multi-broker cluster unless allowed, and impossible settings named.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CliError } from '../../services/shared/errors.ts';
import { decideReplication } from '../../services/shared/topic-replication.ts';

const none = { allowSingleReplica: false };

test('defaults follow the cluster: 1 broker -> 1/1, 2 -> 2/1, 3 and more -> 3/2', () => {
  const of = (brokers: number) => {
    const r = decideReplication(brokers, none);
    return [r.replicationFactor, r.minInsyncReplicas];
  };
  assert.deepEqual(
    [of(1), of(2), of(3), of(7)],
    [
      [1, 1],
      [2, 1],
      [3, 2],
      [3, 2],
    ],
  );
  assert.equal(decideReplication(1, none).refuseSingleReplica, false, 'a single broker has nothing else to offer');
  assert.equal(decideReplication(3, none).refuseSingleReplica, true);
});

test('flags change them within what the cluster can do', () => {
  assert.deepEqual(decideReplication(5, { ...none, replicationFactor: 5, minInsyncReplicas: 3 }), {
    replicationFactor: 5,
    minInsyncReplicas: 3,
    refuseSingleReplica: true,
  });
  assert.throws(
    () => decideReplication(3, { ...none, replicationFactor: 4 }),
    /--replication-factor 4 .*only 3 broker/,
  );
  assert.throws(
    () => decideReplication(3, { ...none, minInsyncReplicas: 4 }),
    /--min-insync-replicas 4 .*more than the replication factor 3/,
  );
});

test('replication factor 1 on several brokers is refused in one line (exit 2) unless allowed', () => {
  assert.throws(
    () => decideReplication(3, { ...none, replicationFactor: 1 }),
    (error: unknown) =>
      error instanceof CliError &&
      error.exitCode === 2 &&
      /--allow-single-replica/.test(error.message) &&
      !error.message.includes('\n'),
  );
  assert.deepEqual(decideReplication(3, { replicationFactor: 1, allowSingleReplica: true }), {
    replicationFactor: 1,
    minInsyncReplicas: 1,
    refuseSingleReplica: false,
  });
});
