// The producer's index as a port: per path, what was last published (state + seq) and
// the stat fingerprint it was read with, plus named meta values. Two implementations keep
// one contract (test/helpers/source-index-contract.ts): SQLite (adapters/sqlite-source-index.ts)
// and memory (adapters/memory-source-index.ts).
import type { EntryState } from '../../../schemas/event.ts';
import type { RelPath } from '../../../schemas/rel-path.ts';
import type { IndexedChild } from '../domain/dir-compare.ts';
import type { Fingerprint } from '../domain/diff.ts';

export type IndexedEntry = {
  path: RelPath;
  state: EntryState;
  seq: number;
  /** Unknown for entries rebuilt from the topic: then size + mtime decide (rsync's quick check). */
  fingerprint: Fingerprint | undefined;
};

/** What the pure producer domain reads of the index. */
export interface SourceIndexView {
  get(path: RelPath): IndexedEntry | undefined;
  /** Paths strictly below `dir` ('' = the whole tree). */
  below(dir: string): RelPath[];
}

export type IndexWrite =
  | { op: 'put'; path: RelPath; state: EntryState; seq: number; fingerprint: Fingerprint | undefined }
  | { op: 'remove'; path: RelPath };

export interface SourceIndex extends SourceIndexView {
  /** What a directory comparison needs of each child of `dir`. */
  childSummaries(dir: string): IndexedChild[];
  /**
   * The digest (domain/listing-digest.ts) of the last listing of `dir` that its indexed
   * children matched exactly; undefined once a child was written or removed since (or `dir`
   * itself removed), so an equal listing now means they still match.
   */
  childrenDigest(dir: string): Buffer | undefined;
  setChildrenDigest(dir: string, digest: Buffer): void;
  hasHash(hash: string): boolean;
  /** The paths indexed as names of the source inode `link` (EntryState's `link`). */
  linkedPaths(link: string): RelPath[];
  /** How many entries `below(dir)` would return, without listing them. */
  countBelow(dir: string): number;
  put(path: RelPath, state: EntryState, seq: number, fingerprint: Fingerprint | undefined): void;
  remove(path: RelPath): void;
  /** Applies writes (and meta values) in one transaction. */
  apply(writes: readonly IndexWrite[], meta?: Readonly<Record<string, string>>): void;
  counts(): Record<'file' | 'dir' | 'symlink', number>;
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  /** Runs `fn` in one transaction (committed when it returns, rolled back if it throws). */
  transaction<T>(fn: () => T): T;
  close(): void;
}

/** `apply` in terms of the other writes, for both implementations: one transaction. */
export function applyIndexWrites(
  index: Pick<SourceIndex, 'put' | 'remove' | 'setMeta' | 'transaction'>,
  writes: readonly IndexWrite[],
  meta: Readonly<Record<string, string>>,
): void {
  index.transaction(() => {
    for (const write of writes) {
      if (write.op === 'put') index.put(write.path, write.state, write.seq, write.fingerprint);
      else index.remove(write.path);
    }
    for (const [key, value] of Object.entries(meta)) index.setMeta(key, value);
  });
}
