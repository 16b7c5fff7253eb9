// At start, an applier refuses a target (or state directory) that overlaps the source
// root of its own tree on this host: a replica inside its source recursed without end
// (src/replica/replica/...), one equal to it deleted source files. The producer names its
// host and root in the tree's metadata topic (tree-metadata.ts); the applier then names
// itself there too, so a producer can refuse a root that holds a replica. Both only if
// the topic exists: an applier never creates topics.
import type { Admin, Kafka } from 'kafkajs';
import { CliError } from '../shared/errors.ts';
import {
  describeOverlap,
  metadataTopicExists,
  overlapsWith,
  publishMember,
  readMembers,
  thisHost,
  type ApplierMember,
  type TreeMember,
} from '../shared/tree-metadata.ts';

/** Refuses a target or state directory equal to, inside or around a producer root of this tree on this host (pure). */
export function checkReplicaAgainstSource(
  dirs: { target: string; stateDir: string },
  host: string,
  members: readonly TreeMember[],
): void {
  const producers = members.filter((member) => member.role === 'producer');
  for (const [flag, dir] of [
    ['--target', dirs.target],
    ['--state-dir', dirs.stateDir],
  ] as const) {
    const found = overlapsWith(dir, host, producers);
    if (found.length > 0) {
      throw new CliError(
        `${flag} ${dir} overlaps the source of this tree: ${found.map(describeOverlap).join('; ')}; ` +
          'a replica and its source must not overlap',
      );
    }
  }
}

export async function registerApplier(
  kafka: Kafka,
  admin: Admin,
  where: { topic: string; replica: string; target: string; stateDir: string; now?: () => number },
): Promise<void> {
  if (!(await metadataTopicExists(admin, where.topic))) return;
  const host = thisHost();
  checkReplicaAgainstSource(where, host, await readMembers(kafka, where.topic));
  const member: ApplierMember = {
    v: 1,
    role: 'applier',
    host,
    replica: where.replica,
    target: where.target,
    stateDir: where.stateDir,
    at: (where.now ?? Date.now)(),
  };
  await publishMember(kafka, where.topic, member);
}
