// Which offsets `verify` compares a replica against, and whether `--repair` may act.
// A replica's position lives in two places: its index (state directory), the truth for
// what its target holds, and its consumer group's committed offsets, which trail the
// index and which anything else joining the group can move (a second applier with the
// same --replica reset them to 0). Compared against offsets that are wrong, a good
// replica looks full of "extra" entries, and a repair would delete them: so repair acts
// only when the index and the group agree. Pure: the shell reads both.

export type Offsets = ReadonlyMap<number, number>;

/** What the replica's state directory says, as far as verify can read it. */
export type ReplicaRecord =
  | { readonly kind: 'absent'; readonly stateDir: string }
  | { readonly kind: 'unreadable'; readonly stateDir: string; readonly reason: string }
  | {
      readonly kind: 'found';
      readonly stateDir: string;
      readonly identity: { readonly replica: string; readonly topic: string } | undefined;
      /** Next offset to apply per partition, as last made durable. */
      readonly positions: Offsets | undefined;
      readonly rebuildInProgress: boolean;
    };

export type VerifyBasis = {
  /** Read the log up to these offsets; undefined: to its end. */
  readonly upTo: Offsets | undefined;
  readonly source: 'index' | 'group' | 'log-end';
  /** Printed before the drifts; each one makes verify exit 1 (the replica cannot be called sound). */
  readonly warnings: readonly string[];
  /** Why --repair must not act (undefined: it may). */
  readonly repairRefusal: string | undefined;
};

function formatOffsets(offsets: Offsets): string {
  const parts = [...offsets].sort(([a], [b]) => a - b).map(([partition, offset]) => `p${partition}:${offset}`);
  return parts.length > 8 ? `${parts.slice(0, 8).join(' ')} ...` : parts.join(' ');
}

function differing(index: Offsets, group: Offsets, partitions: readonly number[]): number[] {
  return partitions.filter((partition) => index.get(partition) !== group.get(partition));
}

export function chooseVerifyBasis(facts: {
  readonly replica: string;
  readonly topic: string;
  /** The topic's partitions. */
  readonly partitions: readonly number[];
  /** The group's committed offsets (partitions without one left out). */
  readonly group: Offsets;
  readonly record: ReplicaRecord;
}): VerifyBasis {
  const { record, group, replica, topic } = facts;
  const fromGroup =
    group.size === 0 ? { upTo: undefined, source: 'log-end' as const } : { upTo: group, source: 'group' as const };
  if (record.kind !== 'found') {
    const why =
      record.kind === 'absent'
        ? `no replica state in ${record.stateDir}`
        : `cannot read the replica state in ${record.stateDir} (${record.reason})`;
    return {
      ...fromGroup,
      warnings: [],
      repairRefusal:
        `${why}: --repair needs it to check that the replica's index and its group's offsets agree; ` +
        'pass --state-dir',
    };
  }
  if (record.identity !== undefined && (record.identity.replica !== replica || record.identity.topic !== topic)) {
    const other = `replica '${record.identity.replica}' of topic '${record.identity.topic}'`;
    return {
      ...fromGroup,
      warnings: [],
      repairRefusal: `the state directory ${record.stateDir} belongs to ${other}, not '${replica}' of '${topic}'`,
    };
  }
  if (record.rebuildInProgress) {
    return {
      upTo: record.positions,
      source: 'index',
      warnings: [`replica '${replica}' is in the middle of a rebuild: it is incomplete until the rebuild ends`],
      repairRefusal: 'a rebuild is in progress: let the applier finish it',
    };
  }
  if (record.positions === undefined || record.positions.size === 0) {
    return {
      ...fromGroup,
      warnings: [],
      repairRefusal: `replica '${replica}' has applied nothing yet (its index holds no positions)`,
    };
  }
  const apart = differing(record.positions, group, facts.partitions);
  if (apart.length > 0) {
    return {
      upTo: record.positions,
      source: 'index',
      warnings: [
        `the group's committed offsets (${formatOffsets(group)}) ` +
          `differ from the replica's index (${formatOffsets(record.positions)}) ` +
          `on ${apart.length} partition(s): did another applier use --replica ${replica}? Comparing against the index`,
      ],
      repairRefusal:
        "the replica's index and its group's offsets disagree: " +
        "start this replica's applier (it commits its own positions), then verify again",
    };
  }
  return { upTo: record.positions, source: 'index', warnings: [], repairRefusal: undefined };
}

/**
 * Entries the replica holds that the log as of its offsets lacks are "extra" only when
 * the current log lacks them too; otherwise they come from records past those offsets
 * (the replica is ahead of what it committed) and a repair must not delete them.
 */
export function splitExtras(
  candidates: readonly string[],
  inCurrentLog: (path: string) => boolean,
): { extra: string[]; ahead: string[] } {
  const extra: string[] = [];
  const ahead: string[] = [];
  for (const path of candidates) (inCurrentLog(path) ? ahead : extra).push(path);
  return { extra, ahead };
}
