// The contents of directories new to the index (a moved-in tree, a first start) are fed
// to the pipeline as it has room, one directory at a time: queueing a whole new tree of
// millions of files at once would hold them all in memory. Only the directories wait
// here; their names are read when their turn comes, after the watcher covers them (so a
// change between the watch and the listing is never lost). A directory that is gone or
// unreadable (EACCES) is skipped: its examination counts it. One whose listing fails
// otherwise is examined again. Nothing here can fail the process.
import { joinRel } from '../../schemas/rel-path.ts';
import type { Logger } from '../shared/logger.ts';
import type { SourceTree } from './ports/source-tree.ts';

export type NewDirectoryWalkerDeps = {
  tree: SourceTree;
  hint: (path: string) => void;
  roomForHints: () => Promise<void>;
  /** Called when the last pending directory was fed to the pipeline. */
  onDrained: () => void;
  logger: Logger;
};

export class NewDirectoryWalker {
  private readonly pending: { dir: string; watched: Promise<void> }[] = [];
  private draining = false;

  constructor(private readonly deps: NewDirectoryWalkerDeps) {}

  /** Whether directories are still waiting to be fed (the pipeline is not idle then). */
  get busy(): boolean {
    return this.draining || this.pending.length > 0;
  }

  add(dir: string, watched: Promise<void> = Promise.resolve()): void {
    this.pending.push({ dir, watched });
    if (this.draining) return;
    this.draining = true;
    void this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) await this.list(this.pending.shift()!);
    } finally {
      // In the same turn as the loop's last check: an add() that comes after it starts a
      // new drain. (Cleared in a .finally() of the drain's promise, it came a microtask
      // late, and a directory added in between was never listed.)
      this.draining = false;
      this.deps.onDrained();
    }
  }

  private async list({ dir, watched }: { dir: string; watched: Promise<void> }): Promise<void> {
    try {
      await this.deps.roomForHints();
      // A watch that failed is the watcher's to report; the listing goes on regardless.
      await watched.catch(() => undefined);
      const listing = this.deps.tree.readdir(dir);
      const names = listing.status === 'ok' ? listing.entries.length : 0;
      this.deps.logger.debug({ dir, status: listing.status, names }, 'new directory listed');
      if (listing.status === 'ok') for (const { name } of listing.entries) this.deps.hint(joinRel(dir, name));
    } catch (error) {
      // EIO, EMFILE...: examined again, the directory is compared with the index and what
      // it holds is hinted (or the examination fails and is retried with backoff).
      this.deps.logger.warn({ err: error, dir }, 'could not list a new directory; examining it again');
      this.deps.hint(dir);
    }
  }
}
