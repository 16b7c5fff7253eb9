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

/** Directories remembered as checked, at most; past it the memory starts over. */
const MAX_VERIFIED = 200_000;

export class TargetRoot {
  /** The target's real path (no symlinks), the prefix of everything the applier touches. */
  readonly root: string;
  /**
   * Relative directories already checked (every component lstat'ed), so the hot path
   * does not lstat the same parents for every file. Only the applier writes the replica
   * and it tells `forget` whenever it removes or replaces a directory; with a prefix
   * closed set (a directory is here only with all its ancestors) one test says whether
   * anything below a removed path was remembered.
   */
  private readonly verified = new Set<string>();

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
    if (this.verified.has(rel)) return `${this.root}/${rel}`;
    const found = this.check(rel, create);
    if (found !== undefined) this.remember(rel);
    return found;
  }

  /** `abs` (inside the target) was removed or replaced: forget what was checked there. */
  forget(abs: string): void {
    // Rare (directories removed): starting over is cheaper than finding the subtree.
    if (this.verified.has(abs.slice(this.root.length + 1))) this.verified.clear();
  }

  forgetAll(): void {
    this.verified.clear();
  }

  private remember(rel: string): void {
    if (this.verified.size >= MAX_VERIFIED) this.verified.clear();
    let slash = rel.indexOf('/');
    while (slash >= 0) {
      this.verified.add(rel.slice(0, slash));
      slash = rel.indexOf('/', slash + 1);
    }
    this.verified.add(rel);
  }

  private check(rel: string, create: boolean): string | undefined {
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
