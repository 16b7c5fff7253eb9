// H5: a replica's consumer group names its topic, and the offsets of the group it had
// before (`mirrorlog.replica.<replica>`) are adopted once, on the real broker.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';
import { legacyReplicaGroupId, replicaGroupId, replicaOfGroup } from '../../schemas/names.ts';
import { adoptLegacyGroup } from '../../services/applier/group-migration.ts';
import { createLogger } from '../../services/shared/logger.ts';
import { defer } from '../helpers/cleanup.ts';
import { createTopic, kafkaAdmin } from '../helpers/stack.ts';

const logger = createLogger({ level: 'silent', name: 'test' });

test('two trees whose appliers share a replica name get two groups', () => {
  assert.notEqual(replicaGroupId('tree-a', 'backup'), replicaGroupId('tree-b', 'backup'));
  assert.equal(replicaOfGroup(replicaGroupId('mirrorlog.events', 'r.1'), 'mirrorlog.events'), 'r.1');
  assert.equal(replicaOfGroup(replicaGroupId('other', 'r1'), 'mirrorlog.events'), undefined);
  assert.equal(replicaOfGroup(legacyReplicaGroupId('r1'), 'mirrorlog.events'), undefined);
});

test("the old group's offsets on this topic are adopted once, and never over the new group's", async (t) => {
  const topic = await createTopic(t, { numPartitions: 2 });
  const admin = await kafkaAdmin(t);
  const replica = `r-${randomUUID().slice(0, 8)}`;
  const legacy = legacyReplicaGroupId(replica);
  defer(t, () => admin.deleteGroups([legacy, replicaGroupId(topic, replica)]).catch(() => undefined));
  assert.deepEqual(await adoptLegacyGroup(admin, topic, replica, logger), { adopted: false });
  await admin.setOffsets({
    groupId: legacy,
    topic,
    partitions: [
      { partition: 0, offset: '0' },
      { partition: 1, offset: '0' },
    ],
  });
  assert.deepEqual(await adoptLegacyGroup(admin, topic, replica, logger), {
    adopted: true,
    from: legacy,
    partitions: 2,
  });
  const [entry] = await admin.fetchOffsets({ groupId: replicaGroupId(topic, replica), topics: [topic] });
  assert.deepEqual(entry!.partitions.map(({ partition, offset }) => [partition, offset]).sort(), [
    [0, '0'],
    [1, '0'],
  ]);
  assert.deepEqual(await adoptLegacyGroup(admin, topic, replica, logger), { adopted: false }, 'once only');
});
