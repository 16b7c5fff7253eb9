// `mirrorlog status` on the log itself: under-replicated and offline partitions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatPartitionHealth, partitionHealth } from '../../services/cli/status-partitions.ts';

const p = (partitionId: number, leader: number, replicas: number[], isr: number[]) => ({
  partitionId,
  leader,
  replicas,
  isr,
});

test('all in sync', () => {
  const health = partitionHealth([p(1, 2, [2, 3, 1], [2, 3, 1]), p(0, 1, [1, 2, 3], [1, 2, 3])]);
  assert.deepEqual(health, { partitions: 2, replicationFactor: 3, underReplicated: [], offline: [] });
  assert.equal(formatPartitionHealth(health), 'partitions: 2, replication factor 3, all replicas in sync');
});

test('a broker gone: its partitions under-replicated; a partition without a leader offline', () => {
  const health = partitionHealth([
    p(0, 1, [1, 2, 3], [1, 2]),
    p(1, 2, [2, 3, 1], [2, 3, 1]),
    p(2, -1, [3, 1, 2], [3]),
    p(3, 3, [3], [3]),
  ]);
  assert.deepEqual(health, { partitions: 4, replicationFactor: 1, underReplicated: [0, 2], offline: [2] });
  assert.equal(
    formatPartitionHealth(health),
    'partitions: 4, replication factor 1, 1 OFFLINE (p2), 2 under-replicated (p0 p2)',
  );
});
