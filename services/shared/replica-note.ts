// What an applier writes into the metadata of its offset commits, for `mirrorlog status`
// to read without reaching the applier: when it last applied something, when it was last
// alive (it re-commits the same offsets as a heartbeat), and what keeps it from applying,
// if anything. Kafka keeps a commit's metadata with the offset, per partition.

export type ReplicaNote = {
  /** ms epoch of the last commit that moved an offset. */
  readonly appliedAt?: number;
  /** ms epoch of the latest commit or heartbeat. */
  readonly aliveAt?: number;
  /** Why the applier cannot apply now (a failing partition, a refused store), when it cannot. */
  readonly problem?: string;
};

/** Kafka's default limit for commit metadata is 4096 bytes (offset.metadata.max.bytes). */
const MAX_PROBLEM_CHARS = 1000;

export function encodeReplicaNote(note: ReplicaNote): string {
  return JSON.stringify({
    ...note,
    ...(note.problem === undefined ? {} : { problem: note.problem.slice(0, MAX_PROBLEM_CHARS) }),
  });
}

export function parseReplicaNote(metadata: string | null | undefined): ReplicaNote | undefined {
  if (metadata === null || metadata === undefined || metadata === '') return undefined;
  try {
    const value = JSON.parse(metadata) as Record<string, unknown>;
    const number = (key: string) => (typeof value[key] === 'number' ? { [key]: value[key] } : {});
    const note: ReplicaNote = {
      ...number('appliedAt'),
      ...number('aliveAt'),
      ...(typeof value['problem'] === 'string' ? { problem: value['problem'] } : {}),
    };
    return Object.keys(note).length === 0 ? undefined : note;
  } catch {
    return undefined;
  }
}
