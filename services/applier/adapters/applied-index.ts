// The applied index: per path, what the applier last did (see domain/plan.ts). The
// in-memory and SQLite implementations pass one contract suite (test/helpers).
import type { RelPath } from '../../../schemas/rel-path.ts';
import type { AppliedEntry, ReplicaView } from '../domain/plan.ts';

export interface AppliedIndex extends ReplicaView {
  record(path: RelPath, entry: AppliedEntry): void;
  /** Drops every entry strictly below `path`. */
  forgetBelow(path: RelPath): void;
  /**
   * Drops the tombstones of deletes older than `seq`. They only damp transient flaps of
   * late events (the rules converge without them), so they need not be kept forever.
   */
  pruneTombstones(seq: number): number;
  /** Some paths (at most `limit`) that hold a file with this content, for local copies. */
  pathsWithHash(hash: string, limit: number): RelPath[];
  /** Every entry, in path order; for sweeps and verification. */
  entries(): Iterable<[RelPath, AppliedEntry]>;
}

/** Whether an entry counts for rule 2 and 4's "a higher seq below". */
export function assertsExistence(entry: AppliedEntry): boolean {
  return entry.kind === 'file' || entry.kind === 'symlink' || (entry.kind === 'dir' && entry.explicit);
}
