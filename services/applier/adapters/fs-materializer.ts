// Carries out decide's filesystem steps on the real target, with synchronous calls
// (one class for all of them: they share the temp naming, the privilege policy and the
// dirty-dir bookkeeping; context-free steps live in fs-primitives.ts, atomic-write.ts and
// in-place-meta.ts): for tiny files a handful of syscalls each, which the event loop
// would only slow down.
//
// Three rules shape every operation:
//  - Confinement by construction: the parent directory is opened from the target root's
//    fd (TargetRoot.withDir: no symlink followed, nothing remembered) and every step is an
//    *at call on that fd, so swapping a directory for a symlink between (or during)
//    operations steers nothing outside the target. Metadata is set through the entry's
//    own fd; a file with more than one link is never changed in place (it may be a hard
//    link someone planted to a file outside): it is rewritten instead.
//  - The filesystem may be *ahead* of the index (after a crash, work done since the
//    last durability point is on disk but not in the index, and gets redelivered). So
//    an operation replaces whatever is in its way instead of failing: mkdir over a file,
//    a write over a directory, an unlink of something already gone.
//  - Privilege: setuid/setgid bits are applied only when allowed (`allowSetid`); by
//    default they are stripped from files and counted (setid-policy.ts). Owners are
//    given as the owner policy says (domain/owner-policy.ts), through the entry's fd,
//    before its mode (chown clears setuid/setgid). Extended attributes and ACLs follow
//    the mode (security.capability only with `allowSetid`: attribute-setter.ts).
// Writes are atomic (atomic-write.ts), through a temp file under a random name (temp-name.ts).
// Directories keep the source's modes, so a read-only one (0555) would refuse the entries
// it must hold when the applier is not root (the container runs as `node`): the applier
// owns it, so it lends itself u+wx for the operation and puts the mode back.
import { closeSync } from 'node:fs';
import { baseName, parentOf, type RelPath } from '../../../schemas/rel-path.ts';
import { fsat } from '../../shared/native/fsat.ts';
import type { Owner } from '../../../schemas/event.ts';
import { attributeSetter, type AttributePolicy } from './attribute-setter.ts';
import type { Ownership } from '../domain/owner-policy.ts';
import { IMPLICIT_DIR_MODE, type EntryMeta } from '../domain/plan.ts';
import { isTempNameOf, tempNameFor } from '../domain/temp-name.ts';
import { symlinkAtomically, writeAtomically, writeAtomicallyInFlight } from './atomic-write.ts';
import {
  errno,
  fsyncDirFd,
  isDirMode,
  exactNs,
  randomSuffix,
  removeAt,
  statAt,
  usingFd,
  withWritableDirFd,
} from './fs-primitives.ts';
import { linkInto, LinkSourceError } from './hard-link.ts';
import { setMetaInPlace } from './in-place-meta.ts';
import { permittedMode, stripsSetid } from './setid-policy.ts';
import { DIR_FLAGS, UnsafePathError, type TargetRoot } from './target-root.ts';
import type { TempJournal } from './temp-journal.ts';
import type { Content } from './verified-content.ts';

export interface FsMaterializerOptions extends AttributePolicy {
  readonly root: TargetRoot;
  readonly journal: Pick<TempJournal, 'noteDir'>;
  /** This run's token, part of every temp name. */
  readonly token: string;
  /** durability=fsync: fsync each file before its rename and remember directories to fsync. */
  readonly fsyncFiles: boolean;
  /** The replica's ids for an event's owner (--owner); without it nothing is chowned. */
  readonly ownership?: (owner: Owner | undefined) => Ownership | undefined;
}

export class FsMaterializer {
  /** Directories (relative) changed since the last flushDirs() (only tracked with fsyncFiles). */
  private readonly dirtyDirs = new Set<string>();
  /** Directories whose entries changed since restoreDirTimes(): the kernel moved their mtimes. */
  private readonly touchedDirs = new Set<string>();

  constructor(private readonly options: FsMaterializerOptions) {}

  mkdir(path: string, mode: number | null, meta: EntryMeta = {}): void {
    this.inParent(path, (dirFd) => this.mkdirIn(dirFd, path, mode ?? IMPLICIT_DIR_MODE, meta));
  }

  private mkdirIn(dirFd: number, path: string, mode: number, meta: EntryMeta): void {
    const name = baseName(path);
    withWritableDirFd(dirFd, () => {
      try {
        fsat.mkdirat(dirFd, name, mode);
      } catch (error) {
        if (errno(error) !== 'EEXIST') throw error;
        if (!isDirMode(statAt(dirFd, name)?.mode ?? 0)) {
          removeAt(dirFd, name);
          fsat.mkdirat(dirFd, name, mode);
        }
      }
    });
    this.touched(path);
    // Through the new directory's own fd: mkdir's mode went through the umask.
    usingFd(fsat.openat(dirFd, name, DIR_FLAGS, 0), (fd) => this.setDirMeta(fd, path, mode, meta));
  }

  private setDirMeta(fd: number, path: string, mode: number, meta: EntryMeta): void {
    const { owner, mtimeMs, mtimeNs } = meta;
    const ids = this.options.ownership?.(owner);
    if (ids !== undefined) fsat.fchown(fd, ids.uid, ids.gid);
    fsat.fchmod(fd, mode);
    attributeSetter(path, meta, this.options)?.(fd);
    if (mtimeMs !== undefined) fsat.futimens(fd, exactNs(mtimeMs, mtimeNs), exactNs(mtimeMs, mtimeNs));
  }

  /** An existing directory's mode, owner and mtime (one missing or replaced on the replica is made again). */
  dirMeta(path: string, mode: number, meta: EntryMeta = {}): void {
    this.inParent(path, (dirFd) => {
      let fd: number;
      try {
        fd = fsat.openat(dirFd, baseName(path), DIR_FLAGS, 0);
      } catch (error) {
        const code = errno(error);
        if (code !== 'ENOENT' && code !== 'ENOTDIR' && code !== 'ELOOP') throw error;
        // missing or replaced on the replica: make it what the index says
        return this.mkdirIn(dirFd, path, mode, meta);
      }
      usingFd(fd, () => this.setDirMeta(fd, path, mode, meta));
    });
  }

  write(path: string, content: Content, mode: number, mtimeMs: number, extra: EntryMeta = {}): void {
    const meta = { ...this.fileMeta(path, mode, mtimeMs, extra), fsync: this.options.fsyncFiles };
    this.inParent(path, (dirFd) =>
      withWritableDirFd(dirFd, () => writeAtomically(dirFd, this.tempName(path), baseName(path), content, meta)),
    );
    this.entryChanged(path, mode);
  }

  /** Whether write() of this file may go on in parallel (writeInFlight): not with attributes or ACLs to set. */
  mayWriteInFlight(path: string, extra: EntryMeta): boolean {
    return attributeSetter(path, extra, this.options) === undefined;
  }

  /** write() of bytes in memory, on libuv's pool; after a rejection nothing of it is left (write() it again). */
  async writeInFlight(path: string, data: Buffer, mode: number, mtimeMs: number, extra: EntryMeta = {}) {
    const meta = { ...this.fileMeta(path, mode, mtimeMs, extra), fsync: this.options.fsyncFiles };
    // Resolved on the pool too where openat2 works; else opened here (and closed once done).
    const parent = parentOf(path);
    const resolved = this.options.root.resolvedOnPool(parent);
    const dir = resolved ?? { dirFd: this.options.root.openDir(parent, true)!, parent: '', resolve: 0 };
    try {
      await writeAtomicallyInFlight(dir, this.tempName(path), baseName(path), data, meta);
    } finally {
      if (resolved === undefined) closeSync(dir.dirFd);
    }
    this.entryChanged(path, mode);
  }

  /** The file already holds the right bytes: set mode and mtime through its fd, without rewriting it. */
  setMeta(path: string, mode: number, mtimeMs: number, extra: EntryMeta = {}): void {
    const meta = this.fileMeta(path, mode, mtimeMs, extra);
    this.inParent(path, (dirFd) => {
      setMetaInPlace(dirFd, path, meta);
      this.changed(path);
    });
    this.countSetid(mode);
  }

  /** Makes `path` a hard link of the file at `from`, which records the same state (hard-link.ts). */
  link(path: string, from: string, size: number, names: number): void {
    this.inParent(path, (dirFd) =>
      withWritableDirFd(dirFd, () => {
        const linked = this.inExistingDir(parentOf(from), (fromFd) =>
          linkInto(fromFd, baseName(from), dirFd, this.tempName(path), baseName(path), { from, size, names }),
        );
        if (linked === undefined) throw new LinkSourceError(from, 'is not reachable on the replica');
      }),
    );
    this.entryChanged(path);
  }

  symlink(path: string, target: string, meta: EntryMeta = {}): void {
    const link = {
      target,
      ownership: this.options.ownership?.(meta.owner),
      mtimeMs: meta.mtimeMs,
      mtimeNs: meta.mtimeNs,
      attributes: attributeSetter(path, meta, this.options),
    };
    this.inParent(path, (dirFd) =>
      withWritableDirFd(dirFd, () => symlinkAtomically(dirFd, this.tempName(path), baseName(path), link)),
    );
    this.entryChanged(path);
  }

  /**
   * Removes whatever is at `path`, following nothing: a file, a symlink or a whole tree
   * (for unlink, remove-tree and rmdir alike: what is still inside a directory the index
   * says is empty is not in the index, so it goes too; and for a delete of a path the
   * index does not know, since the filesystem may be ahead of it). Returns whether
   * something was removed; a missing or unsafe parent holds nothing of ours.
   */
  remove(path: string): boolean {
    const removed = this.inExistingDir(parentOf(path), (dirFd) => removeAt(dirFd, baseName(path))) ?? false;
    if (removed) this.entryChanged(path);
    return removed;
  }

  /** Removes temp files of the runs holding `tokens` from `relDir`; returns how many. */
  removeTempFiles(relDir: string, tokens: ReadonlySet<string>): number {
    return (
      this.inExistingDir(relDir, (dirFd) => {
        let removed = 0;
        for (const { name } of fsat.readdir(dirFd)) {
          if (isTempNameOf(name.toString('latin1'), tokens) && removeAt(dirFd, name)) removed++;
        }
        return removed;
      }) ?? 0
    );
  }

  /** Runs `fn` in the directory `relDir` if it exists and is safe to reach (else it holds nothing of ours). */
  private inExistingDir<T>(relDir: string, fn: (dirFd: number) => T): T | undefined {
    try {
      return this.options.root.withDir(relDir, false, fn);
    } catch (error) {
      if (error instanceof UnsafePathError) return undefined;
      throw error;
    }
  }

  /**
   * Puts back the mtimes of the directories whose entries changed since the last call,
   * as the index records them (`mtimeOf`; undefined: none known, left as it is): the
   * kernel moved them with each creation or removal, as rsync's transfers do before it
   * sets them last. Called at each durability point, before the filesystem is synced.
   */
  restoreDirTimes(mtimeOf: (dir: RelPath) => bigint | undefined): { failed: number; lastError?: unknown } {
    const result: { failed: number; lastError?: unknown } = { failed: 0 };
    for (const dir of this.touchedDirs) {
      const ns = dir === '' ? undefined : mtimeOf(dir as RelPath);
      if (ns === undefined) continue;
      try {
        this.inExistingDir(dir, (fd) => fsat.futimens(fd, ns, ns));
      } catch (error) {
        // A time is not worth holding the durability point for: counted, and the next event sets it.
        result.failed++;
        result.lastError = error;
      }
    }
    this.touchedDirs.clear();
    return result;
  }

  /** durability=fsync: makes the directory entries (creations, renames, removals) durable. */
  flushDirs(): void {
    // A directory removed since needs nothing: its parent is dirty too.
    for (const dir of this.dirtyDirs) this.inExistingDir(dir, fsyncDirFd);
    this.dirtyDirs.clear();
  }

  /** Runs `fn` with the parent directory of `path` (created if missing), opened from the root. */
  private inParent<T>(path: string, fn: (dirFd: number) => T): T {
    return this.options.root.withDir(parentOf(path), true, fn)!;
  }

  private tempName(path: string): string {
    this.options.journal.noteDir(parentOf(path));
    return tempNameFor(baseName(path), this.options.token, randomSuffix());
  }

  private fileMeta(path: string, mode: number, mtimeMs: number, extra: EntryMeta) {
    const attributes = attributeSetter(path, extra, this.options);
    return {
      mode: permittedMode(mode, this.options.allowSetid === true),
      mtimeMs,
      mtimeNs: extra.mtimeNs,
      ownership: this.options.ownership?.(extra.owner),
      ...(attributes === undefined ? {} : { attributes }),
    };
  }

  /** Counts a file written (or changed) without the setuid/setgid bits it asked for. */
  private countSetid(mode: number): void {
    if (stripsSetid(mode, this.options.allowSetid === true)) this.options.onSetidStripped?.();
  }

  /** An entry was made, replaced or removed at `path` (`mode`: a file's, for the setid count). */
  private entryChanged(path: string, mode?: number): void {
    this.changed(path);
    this.touched(path);
    if (mode !== undefined) this.countSetid(mode);
  }

  private touched(path: string): void {
    this.touchedDirs.add(parentOf(path));
  }

  private changed(path: string): void {
    if (this.options.fsyncFiles) this.dirtyDirs.add(parentOf(path));
  }
}
