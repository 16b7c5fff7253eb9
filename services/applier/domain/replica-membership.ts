// One applier per replica. A replica is one consumer group (mirrorlog.replica.<name>)
// fed by one applier: a second applier with the same --replica (another machine, another
// target) would split the partitions and commit its own offsets, resetting the group's to
// where its empty state starts. Pure: the I/O shell describes the group, this decides.

export type GroupMember = { readonly memberId: string; readonly clientId: string; readonly clientHost: string };
export type GroupDescription = { readonly state: string; readonly members: readonly GroupMember[] };

/** The group is held by another applier (`members`), or free to join. */
export type GroupVerdict =
  { readonly kind: 'free' } | { readonly kind: 'held'; readonly members: readonly GroupMember[] };

/** Kafka's states of a group without live members. */
const MEMBERLESS = new Set(['Empty', 'Dead']);

export function judgeGroup(group: GroupDescription | undefined): GroupVerdict {
  if (group === undefined || MEMBERLESS.has(group.state) || group.members.length === 0) return { kind: 'free' };
  return { kind: 'held', members: group.members };
}

/**
 * What a join means. `firstJoin`: this applier's first assignment. Joining a group that
 * already has a member (the first assignment lacks partitions) makes this applier the
 * second one: it leaves without committing. A later join that lacks partitions means a
 * second applier came in: the first keeps its place (the newcomer leaves by itself).
 */
export type JoinVerdict = 'sole-member' | 'newcomer-to-a-held-group' | 'another-joined';

export function judgeJoin(firstJoin: boolean, assigned: number, partitions: number): JoinVerdict {
  if (assigned >= partitions) return 'sole-member';
  return firstJoin ? 'newcomer-to-a-held-group' : 'another-joined';
}

function describeMembers(members: readonly GroupMember[]): string {
  return members.map((m) => `${m.clientId} on ${m.clientHost.replace(/^\//, '')}`).join(', ');
}

/** The one line a second applier exits with. */
export function secondApplierMessage(
  replica: string,
  group: string,
  members: readonly GroupMember[] | undefined,
): string {
  const who = members === undefined || members.length === 0 ? 'another member' : describeMembers(members);
  return (
    `replica '${replica}' already has a running applier (consumer group ${group}: ${who}); ` +
    "each replica needs its own --replica name (and target): this applier leaves without moving the group's offsets"
  );
}
