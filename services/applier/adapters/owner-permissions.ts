// Directories of the replica keep the source's modes, so a read-only one (0555) refuses
// the entries it must hold when the applier is not root (the container runs as `node`).
// The applier owns every directory it created, so it may lend itself the permission for
// one operation and put the mode back: what the source says stays what the replica shows.
import { chmodSync, lstatSync, readdirSync } from 'node:fs';

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

/**
 * Runs `op`, which creates or removes entries in `dir`; if the directory's own mode
 * forbids it (EACCES, not root), runs it again with u+wx lent and the mode restored.
 */
export function withWritableDir<T>(dir: string, op: () => T): T {
  try {
    return op();
  } catch (error) {
    if (errno(error) !== 'EACCES') throw error;
    const stat = lstatSync(dir);
    if (!stat.isDirectory() || (stat.mode & 0o300) === 0o300) throw error;
    chmodSync(dir, (stat.mode & 0o7777) | 0o300);
    try {
      return op();
    } finally {
      chmodSync(dir, stat.mode & 0o7777);
    }
  }
}

/** Before removing a tree as non-root: every directory in it u+rwx (symlinks never followed). */
export function makeTreeWritable(dir: string): void {
  chmodSync(dir, (lstatSync(dir).mode & 0o7777) | 0o700);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) makeTreeWritable(`${dir}/${entry.name}`);
  }
}
