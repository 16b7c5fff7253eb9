// Carries out decide's filesystem steps on the real target, with synchronous calls
// (one class for all of them: they share the path checks, temp naming and dirty-dir
// bookkeeping; helpers that need none of it live in fs-primitives.ts):
// for tiny files a handful of syscalls each, which the event loop would only slow down.
//
// Two rules shape every operation:
//  - Nothing is followed: directories are resolved through TargetRoot (no symlink in
//    the way), final components are replaced by rename or removed, never opened through.
//  - The filesystem may be *ahead* of the index (after a crash, work done since the
//    last durability point is on disk but not in the index, and gets redelivered). So
//    an operation replaces whatever is in its way instead of failing: mkdir over a file,
//    a write over a directory, an unlink of something already gone.
//
// Writes are atomic: content goes to a temp file beside the destination (temp-name.ts),
// gets its mode (fchmod: no umask, setuid kept) and mtime, then is renamed into place.
//
// Directories keep the source's modes, so a read-only one (0555) would refuse the entries
// it must hold when the applier is not root (the container runs as `node`): the applier
// owns it, so it lends itself u+wx for the operation and puts the mode back.
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fsyncSync,
  futimesSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  rmdirSync,
  symlinkSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { baseName, parentOf } from '../../../schemas/rel-path.ts';
import { IMPLICIT_DIR_MODE } from '../domain/plan.ts';
import { isTempNameOf, tempNameFor } from '../domain/temp-name.ts';
import type { TargetRoot } from './target-root.ts';
import { UnsafePathError } from './target-root.ts';
import { errno, fsyncDir, lstatOrUndefined, placeStaged, removeEntry, utimeSeconds } from './fs-primitives.ts';
import { withWritableDir } from './owner-permissions.ts';
import type { TempJournal } from './temp-journal.ts';

/** Verified content to write: in memory, or a staged file the materializer may move (unless shared). */
export type Content = { kind: 'buffer'; data: Buffer } | { kind: 'file'; path: string; shared: boolean };

/** set-meta found no regular file where the index has one: the replica drifted. */
export class NotAFileError extends Error {
  constructor(readonly path: string) {
    super(`${JSON.stringify(path)} is not a regular file on the replica`);
    this.name = 'NotAFileError';
  }
}

const CREATE_TEMP = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const OPEN_STAGED = constants.O_RDWR | constants.O_NOFOLLOW;

export interface FsMaterializerOptions {
  readonly root: TargetRoot;
  readonly journal: Pick<TempJournal, 'noteDir'>;
  /** This run's token, part of every temp name. */
  readonly token: string;
  /** durability=fsync: fsync each file before its rename and remember directories to fsync. */
  readonly fsyncFiles: boolean;
}

export class FsMaterializer {
  /** Directories changed since the last flushDirs() (only tracked with fsyncFiles). */
  private readonly dirtyDirs = new Set<string>();
  private counter = 0;

  constructor(private readonly options: FsMaterializerOptions) {}

  mkdir(path: string, mode: number | null): void {
    this.inParent(path, (dir) => this.mkdirIn(dir, path, mode));
  }

  private mkdirIn(dir: string, path: string, mode: number | null): void {
    const abs = `${dir}/${baseName(path)}`;
    const wanted = mode ?? IMPLICIT_DIR_MODE;
    withWritableDir(dir, () => {
      try {
        mkdirSync(abs, { mode: wanted });
      } catch (error) {
        if (errno(error) !== 'EEXIST') throw error;
        const stat = lstatSync(abs);
        if (!stat.isDirectory()) {
          unlinkSync(abs);
          mkdirSync(abs, { mode: wanted });
        }
      }
    });
    chmodSync(abs, wanted); // mkdir's mode went through the umask
    this.changed(abs);
  }

  chmod(path: string, mode: number): void {
    const abs = `${this.parent(path)}/${baseName(path)}`;
    const stat = lstatOrUndefined(abs);
    if (stat?.isDirectory()) chmodSync(abs, mode);
    else this.mkdir(path, mode); // missing or replaced on the replica: make it what the index says
  }

  write(path: string, content: Content, mode: number, mtimeMs: number): void {
    this.inParent(path, (dir) => withWritableDir(dir, () => this.writeIn(dir, path, content, mode, mtimeMs)));
  }

  private writeIn(dir: string, path: string, content: Content, mode: number, mtimeMs: number): void {
    const temp = this.tempPath(path, dir);
    let moved = false;
    try {
      if (content.kind === 'buffer') {
        const fd = openSync(temp, CREATE_TEMP, 0o600);
        try {
          for (let offset = 0; offset < content.data.length; ) offset += writeSync(fd, content.data, offset, content.data.length - offset);
          this.finishFile(fd, mode, mtimeMs);
        } finally {
          closeSync(fd);
        }
      } else {
        moved = placeStaged(content.path, content.shared, temp);
        const fd = openSync(temp, OPEN_STAGED);
        try {
          this.finishFile(fd, mode, mtimeMs);
        } finally {
          closeSync(fd);
        }
      }
      this.renameIntoPlace(temp, `${dir}/${baseName(path)}`);
    } catch (error) {
      // A staged file goes back where it was, so a retry finds the content again.
      if (moved) renameSync(temp, (content as { path: string }).path);
      else rmSync(temp, { force: true });
      throw error;
    }
  }

  /** The file already holds the right bytes: set mode and mtime without rewriting it. */
  setMeta(path: string, mode: number, mtimeMs: number): void {
    const abs = `${this.parent(path)}/${baseName(path)}`;
    const stat = lstatOrUndefined(abs);
    if (!stat?.isFile()) throw new NotAFileError(path);
    chmodSync(abs, mode);
    const seconds = utimeSeconds(mtimeMs);
    lutimesSync(abs, seconds, seconds);
    this.changed(abs);
  }

  symlink(path: string, target: string): void {
    this.inParent(path, (dir) => this.symlinkIn(dir, path, target));
  }

  private symlinkIn(dir: string, path: string, target: string): void {
    withWritableDir(dir, () => {
      const temp = this.tempPath(path, dir);
      try {
        symlinkSync(target, temp);
        this.renameIntoPlace(temp, `${dir}/${baseName(path)}`);
      } catch (error) {
        rmSync(temp, { force: true });
        throw error;
      }
    });
  }

  unlink(path: string): void {
    this.removeAny(`${this.parent(path)}/${baseName(path)}`);
  }

  removeTree(path: string): void {
    this.removeAny(`${this.parent(path)}/${baseName(path)}`);
  }

  /** rmdir of a directory the index says is empty; anything still inside is not in the index, so it goes too. */
  rmdir(path: string): void {
    const dir = this.parent(path);
    const abs = `${dir}/${baseName(path)}`;
    try {
      this.options.root.forget(abs);
      withWritableDir(dir, () => rmdirSync(abs));
      this.changed(abs);
    } catch (error) {
      const code = errno(error);
      if (code === 'ENOENT') return;
      if (code === 'ENOTEMPTY' || code === 'EEXIST' || code === 'ENOTDIR') this.removeAny(abs);
      else throw error;
    }
  }

  /**
   * Removes whatever is at `path` when the index says nothing is (a delete of a path it
   * does not know: the filesystem may be ahead of it). Returns whether something was
   * removed; a missing or unsafe parent means there is nothing of ours to remove.
   */
  clear(path: string): boolean {
    const dir = this.existingDir(parentOf(path));
    return dir !== undefined && this.removeAny(`${dir}/${baseName(path)}`);
  }

  /** Removes temp files of the runs holding `tokens` from `relDir`; returns how many. */
  removeTempFiles(relDir: string, tokens: ReadonlySet<string>): number {
    const dir = this.existingDir(relDir);
    if (dir === undefined) return 0;
    let removed = 0;
    for (const name of readdirSync(dir)) {
      if (isTempNameOf(name, tokens) && this.removeAny(`${dir}/${name}`)) removed++;
    }
    return removed;
  }

  /** The directory at `relDir` if it exists and is safe to reach; a missing or unsafe one holds nothing of ours. */
  private existingDir(relDir: string): string | undefined {
    try {
      return this.options.root.dir(relDir, false);
    } catch (error) {
      if (error instanceof UnsafePathError) return undefined;
      throw error;
    }
  }

  /** durability=fsync: makes the directory entries (creations, renames, removals) durable. */
  flushDirs(): void {
    // A directory removed since needs nothing: its parent is dirty too.
    for (const dir of this.dirtyDirs) fsyncDir(dir);
    this.dirtyDirs.clear();
  }

  private parent(path: string): string {
    return this.options.root.dir(parentOf(path), true)!;
  }

  /**
   * Runs `fn` in the parent directory of `path`. The parent may have been remembered as
   * checked and then removed by someone else (an operator emptying the replica): on
   * ENOENT the memory is dropped and the parent checked (and made) again, once.
   */
  private inParent(path: string, fn: (dir: string) => void): void {
    try {
      fn(this.parent(path));
    } catch (error) {
      if (errno(error) !== 'ENOENT') throw error;
      this.options.root.forgetAll();
      fn(this.parent(path));
    }
  }

  private tempPath(path: string, dir: string): string {
    this.options.journal.noteDir(parentOf(path));
    return `${dir}/${tempNameFor(baseName(path), this.options.token, this.counter++)}`;
  }

  private finishFile(fd: number, mode: number, mtimeMs: number): void {
    fchmodSync(fd, mode); // after the write: a write by a non-root owner clears setuid
    const seconds = utimeSeconds(mtimeMs);
    futimesSync(fd, seconds, seconds);
    if (this.options.fsyncFiles) fsyncSync(fd);
  }

  /** rename() replaces a file or symlink atomically; a directory in the way is removed first. */
  private renameIntoPlace(temp: string, abs: string): void {
    try {
      renameSync(temp, abs);
    } catch (error) {
      const code = errno(error);
      if (code !== 'EISDIR' && code !== 'ENOTEMPTY' && code !== 'EEXIST') throw error;
      this.removeAny(abs);
      renameSync(temp, abs);
    }
    this.changed(abs);
  }

  /** Removes a file, symlink or whole directory tree at `abs`, following nothing. */
  private removeAny(abs: string): boolean {
    const stat = lstatOrUndefined(abs);
    if (stat === undefined) return false;
    if (stat.isDirectory()) this.options.root.forget(abs);
    removeEntry(abs, stat);
    this.changed(abs);
    return true;
  }

  private changed(abs: string): void {
    if (this.options.fsyncFiles) this.dirtyDirs.add(abs.slice(0, abs.lastIndexOf('/')));
  }
}
