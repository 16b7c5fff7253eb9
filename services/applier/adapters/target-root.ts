// Path resolution inside the replica. Every path the applier writes comes from a record,
// so this is what keeps a hostile or confused record inside the target: a directory is
// used only when every component from the (real) target root down is a directory, not a
// symlink, i.e. its real path is exactly the target plus the relative path. Checking
// the string alone would let `a/x` escape through a symlink `a` -> /elsewhere.
//
// The check and the use are two system calls (Node has no openat2/RESOLVE_BENEATH), so
// someone who can already write inside the replica could race them; the applier itself
// never creates the symlinks that race would need.
import { chmodSync, lstatSync, mkdirSync, realpathSync } from 'node:fs';
import { IMPLICIT_DIR_MODE } from '../domain/plan.ts';

/** The path cannot be used without leaving the target or following a symlink. */
export class UnsafePathError extends Error {
  readonly code = 'unsafe-path';
  constructor(
    readonly path: string,
    reason: string,
  ) {
    super(`unsafe path ${JSON.stringify(path)}: ${reason}`);
    this.name = 'UnsafePathError';
  }
}

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

export class TargetRoot {
  /** The target's real path (no symlinks), the prefix of everything the applier touches. */
  readonly root: string;

  constructor(target: string) {
    this.root = realpathSync.native(target);
  }

  /** Absolute path of a relative one ('' is the root); no check. */
  abs(rel: string): string {
    return rel === '' ? this.root : `${this.root}/${rel}`;
  }

  /**
   * The absolute path of the directory `rel`, checked to be reached without symlinks:
   * each component below the (real) root is lstat()ed and must be a directory. A missing
   * directory is created (mode IMPLICIT_DIR_MODE) when `create`, else undefined is
   * returned. Throws UnsafePathError when a component is a symlink or not a directory.
   */
  dir(rel: string, create: boolean): string | undefined {
    if (rel === '') return this.root;
    let prefix = this.root;
    let from = 0;
    while (from <= rel.length) {
      const slash = rel.indexOf('/', from);
      const end = slash < 0 ? rel.length : slash;
      prefix = `${this.root}/${rel.slice(0, end)}`;
      const stat = lstatSync(prefix, { throwIfNoEntry: false });
      if (stat === undefined) {
        if (!create) return undefined;
        return this.createMissing(rel);
      }
      if (stat.isSymbolicLink()) throw new UnsafePathError(rel, `${rel.slice(0, end)} is a symlink`);
      if (!stat.isDirectory()) throw new UnsafePathError(rel, `${rel.slice(0, end)} is not a directory`);
      from = end + 1;
    }
    return prefix;
  }

  /** Creates the missing components of `rel` one by one, refusing anything but directories. */
  private createMissing(rel: string): string {
    let prefix = this.root;
    for (const segment of rel.split('/')) {
      prefix = `${prefix}/${segment}`;
      try {
        const stat = lstatSync(prefix);
        if (!stat.isDirectory()) throw new UnsafePathError(rel, `${prefix} is not a directory`);
      } catch (error) {
        if (errno(error) !== 'ENOENT') throw error;
        mkdirSync(prefix, { mode: IMPLICIT_DIR_MODE });
        chmodSync(prefix, IMPLICIT_DIR_MODE);
      }
    }
    return prefix;
  }
}
