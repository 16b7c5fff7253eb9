// Small filesystem helpers the materializer is built on: error codes, an lstat that
// says "nothing there", mtimes exact to the millisecond, removing whatever is at a path
// without following anything, fsync of a directory, and placing staged content.
import { closeSync, constants, copyFileSync, fsyncSync, lstatSync, openSync, renameSync, rmSync, unlinkSync, type Stats } from 'node:fs';
import { makeTreeWritable, withWritableDir } from './owner-permissions.ts';

export function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

export function lstatOrUndefined(abs: string): Stats | undefined {
  try {
    return lstatSync(abs);
  } catch (error) {
    if (errno(error) === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * utimes takes seconds as a double and libuv truncates to whole microseconds, so
 * `ms / 1000` lands 1 µs short half of the time and the mtime reads back as ms - 1.
 * Half a microsecond away from zero makes the truncation land exactly on the millisecond.
 * Returned as a numeric string: Node replaces a negative *number* (before 1970) by now.
 */
export function utimeSeconds(mtimeMs: number): string {
  return String((mtimeMs + (mtimeMs >= 0 ? 0.0005 : -0.0005)) / 1000);
}

/** Removes the file, symlink or whole directory tree `stat` describes at `abs`, following nothing. */
export function removeEntry(abs: string, stat: Stats): void {
  withWritableDir(abs.slice(0, abs.lastIndexOf('/')), () => {
    if (!stat.isDirectory()) return unlinkSync(abs);
    // rm's recursion lstat()s every entry and unlinks symlinks without following them.
    try {
      rmSync(abs, { recursive: true, force: true });
    } catch (error) {
      if (errno(error) !== 'EACCES') throw error;
      makeTreeWritable(abs);
      rmSync(abs, { recursive: true, force: true });
    }
  });
}

/** fsync(2) of a directory (its entries: creations, renames, removals); false when it is gone. */
export function fsyncDir(dir: string): boolean {
  let fd: number;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  } catch (error) {
    if (errno(error) === 'ENOENT') return false;
    throw error;
  }
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** Puts the staged file at `temp`: moved unless `shared` (or on another filesystem), else copied. Returns whether it was moved. */
export function placeStaged(staged: string, shared: boolean, temp: string): boolean {
  if (!shared) {
    try {
      renameSync(staged, temp);
      return true;
    } catch (error) {
      if (errno(error) !== 'EXDEV') throw error;
    }
  }
  copyFileSync(staged, temp, constants.COPYFILE_FICLONE);
  return false;
}
