// The portable backend: @parcel/watcher through the existing TreeWatcher, with its
// extra subscriptions below new directories and their release when a directory goes.
import { TreeWatcher } from '../adapters/tree-watcher.ts';
import type { SourceWatcher, WatcherDeps, WatcherStatus } from './source-watcher.ts';

export class ParcelSourceWatcher implements SourceWatcher {
  readonly backend = 'parcel' as const;
  private readonly tree: TreeWatcher;

  constructor(private readonly deps: WatcherDeps) {
    this.tree = new TreeWatcher({
      root: deps.root,
      ignore: [...deps.exclude],
      isExcluded: deps.isExcluded,
      logger: deps.logger,
      onHints: (hints) => {
        for (const { path, type } of hints)
          if (type === 'delete') this.tree.forget(path).catch((error: Error) => deps.events.onError(error));
        deps.events.onHints(hints);
      },
      onError: (error) => deps.events.onError(error),
    });
  }

  start(): Promise<void> {
    return this.tree.start();
  }

  beforeListing(): void {
    // The root subscription's crawl watches what exists; new directories get subscriptions below.
  }

  newSubtree(relDir: string, changedAtMs: number): void {
    this.watchSubtree(relDir, changedAtMs).catch((error: Error) => this.deps.events.onError(error));
  }

  /** Resolves with whether a subscription was made (changes below it before then went unreported). */
  watchSubtree(relDir: string, changedAtMs: number): Promise<boolean> {
    return this.tree.watchSubtree(relDir, changedAtMs);
  }

  status(): WatcherStatus {
    return { watched: this.tree.subscriptionCount, unwatched: 0, overflows: 0 };
  }

  stop(): Promise<void> {
    return this.tree.stop();
  }
}
