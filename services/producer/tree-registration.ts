// At start, the producer names itself in the tree's metadata (host, root, state directory)
// and refuses a root that overlaps a replica of the same tree on this host: a replica
// inside its own source recurses forever, one equal to it deletes source files, and an
// applier's state directory inside the root would be mirrored while it changes.
import type { Admin, Kafka } from 'kafkajs';
import { CliError } from '../shared/errors.ts';
import {
  describeOverlap,
  ensureMetadataTopic,
  overlapsWith,
  publishMember,
  readMembers,
  thisHost,
  type ProducerMember,
  type TreeMember,
} from '../shared/tree-metadata.ts';

/** Refuses an overlap with an applier of this tree on this host (pure). */
export function checkRootAgainstReplicas(root: string, host: string, members: readonly TreeMember[]): void {
  const found = overlapsWith(
    root,
    host,
    members.filter((member) => member.role === 'applier'),
  );
  if (found.length === 0) return;
  throw new CliError(
    `--root ${root} overlaps a replica of this tree: ${found.map(describeOverlap).join('; ')}; ` +
      'a source and its replicas must not overlap',
  );
}

export async function registerProducer(
  kafka: Kafka,
  admin: Admin,
  where: { topic: string; source: string; root: string; stateDir: string; now?: () => number },
): Promise<ProducerMember> {
  await ensureMetadataTopic(admin, where.topic);
  const host = thisHost();
  checkRootAgainstReplicas(where.root, host, await readMembers(kafka, where.topic));
  const member: ProducerMember = {
    v: 1,
    role: 'producer',
    host,
    source: where.source,
    root: where.root,
    stateDir: where.stateDir,
    at: (where.now ?? Date.now)(),
  };
  await publishMember(kafka, where.topic, member);
  return member;
}
