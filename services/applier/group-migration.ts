// Replica groups used to be `mirrorlog.replica.<replica>` whatever the topic, so two trees
// whose appliers shared a replica name stole each other's partitions (one reported ready
// while missing files, the other never finished rebuilding). They are now
// `mirrorlog.replica.<topic>.<replica>` (schemas/names.ts). The applier resumes from the
// positions in its own index, not from the group, so nothing is replayed; this copies the
// old group's offsets on this topic into the new group once, so `status` and `verify` see
// the replica's progress at once. The old group is left for the operator to delete.
import type { Admin } from 'kafkajs';
import { legacyReplicaGroupId, replicaGroupId } from '../../schemas/names.ts';
import type { Logger } from '../shared/logger.ts';

export type GroupMigration = { adopted: false } | { adopted: true; from: string; partitions: number };

async function committedOn(
  admin: Admin,
  groupId: string,
  topic: string,
): Promise<{ partition: number; offset: string }[]> {
  const [entry] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return (entry?.partitions ?? [])
    .filter(({ offset }) => Number(offset) >= 0)
    .map(({ partition, offset }) => ({ partition, offset }));
}

export async function adoptLegacyGroup(
  admin: Admin,
  topic: string,
  replica: string,
  logger: Logger,
): Promise<GroupMigration> {
  const group = replicaGroupId(topic, replica);
  const legacy = legacyReplicaGroupId(replica);
  if ((await committedOn(admin, group, topic)).length > 0) return { adopted: false };
  const old = await committedOn(admin, legacy, topic);
  if (old.length === 0) return { adopted: false };
  await admin.setOffsets({ groupId: group, topic, partitions: old });
  logger.info(
    { from: legacy, to: group, partitions: old.length },
    `consumer group renamed to include the topic: offsets adopted from ${legacy}; once no applier of an older ` +
      `version runs, delete it (kafka-consumer-groups.sh --delete --group ${legacy})`,
  );
  return { adopted: true, from: legacy, partitions: old.length };
}
