// The contents of directories new to the index (a moved-in tree, a first start) are fed
// to the pipeline as it has room, one directory at a time: queueing a whole new tree of
// millions of files at once would hold them all in memory. Only the directories wait
// here; their names are read when their turn comes, after the watcher covers them (so a
// change between the watch and the listing is never lost). A directory that cannot be
// listed (gone, EACCES) is skipped: its examination counts it, and nothing here can fail
// the process.
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
  private running: Promise<void> | undefined;

  constructor(private readonly deps: NewDirectoryWalkerDeps) {}

  /** Whether directories are still waiting to be fed (the pipeline is not idle then). */
  get busy(): boolean {
    return this.running !== undefined || this.pending.length > 0;
  }

  add(dir: string, watched: Promise<void> = Promise.resolve()): void {
    this.pending.push({ dir, watched });
    this.running ??= this.run().finally(() => {
      this.running = undefined;
      this.deps.onDrained();
    });
  }

  private async run(): Promise<void> {
    while (this.pending.length > 0) {
      const { dir, watched } = this.pending.shift()!;
      try {
        await this.deps.roomForHints();
        // A watch that failed is the watcher's to report; the listing goes on regardless.
        await watched.catch(() => undefined);
        const listing = this.deps.tree.readdir(dir);
        if (listing.status === 'ok') for (const { name } of listing.entries) this.deps.hint(joinRel(dir, name));
      } catch (error) {
        this.deps.logger.warn({ err: error, dir }, 'could not list a new directory; the reconcile will');
      }
    }
  }
}
