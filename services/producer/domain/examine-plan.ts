// What examining a hinted path must do, decided from data: what lstat says it is now and
// what the index holds for it. The examiner (the shell) carries the plan out: it reads,
// lists, watches and hints; nothing here touches the filesystem.
import type { IndexedEntry } from '../ports/source-index.ts';
import type { Probe } from '../ports/source-tree.ts';
import { dirMayBeReplaced, fileMayHaveChanged } from './diff.ts';

export type ExaminePlan =
  /**
   * Not there, or not mirrorable: its absence is published if the index holds it.
   * `checkParent`: a lost event may hide that a whole subtree went, so the parent is looked at too.
   */
  | { do: 'absent'; publish: boolean; checkParent: boolean }
  | { do: 'read-link' }
  /**
   * `new`: unknown to the index, or perhaps another directory under a known name (its
   * identity changed): every child is examined, what the index holds and is gone is
   * deleted, and the watcher is told. `names-only`: known and unchanged: children that
   * appeared or vanished (a cheap check after a lost event).
   */
  | { do: 'examine-dir'; how: 'new' | 'names-only' }
  /** A file the index knows with the same stat: no need to read it. */
  | { do: 'keep-file' }
  | { do: 'read-file' }
  /** It exists but cannot be read (EACCES): counted and skipped; what was published stays. */
  | { do: 'skip-unreadable'; code: string };

export function planExamination(found: Probe, indexed: IndexedEntry | undefined): ExaminePlan {
  switch (found.kind) {
    case 'missing':
      return { do: 'absent', publish: indexed !== undefined, checkParent: true };
    case 'special':
      return { do: 'absent', publish: indexed !== undefined, checkParent: false };
    case 'unreadable':
      return { do: 'skip-unreadable', code: found.code };
    case 'symlink':
      return { do: 'read-link' };
    case 'dir': {
      const known = indexed?.state.kind === 'dir' && !dirMayBeReplaced(indexed.fingerprint, found.fingerprint);
      return { do: 'examine-dir', how: known ? 'names-only' : 'new' };
    }
    case 'file': {
      const { state } = indexed ?? {};
      if (
        state?.kind === 'file' &&
        state.mode === found.mode &&
        !fileMayHaveChanged(state, indexed!.fingerprint, found.fingerprint, found.mtimeMs)
      ) {
        return { do: 'keep-file' };
      }
      return { do: 'read-file' };
    }
    default: {
      const unknown: never = found;
      throw new Error(`unknown probe ${JSON.stringify(unknown)}`);
    }
  }
}

/**
 * A file that kept changing while read is retried with growing delays; once it has been
 * unstable for `maxUnstableMs`, it is read as a snapshot instead (see SourceTree.readFile),
 * so an ever-growing log file is still published, never torn.
 */
export function readMode(
  unstableSinceMs: number | undefined,
  nowMs: number,
  maxUnstableMs: number,
): 'at-rest' | 'snapshot' {
  return unstableSinceMs !== undefined && nowMs - unstableSinceMs >= maxUnstableMs ? 'snapshot' : 'at-rest';
}
