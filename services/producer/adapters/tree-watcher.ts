// @parcel/watcher subscriptions over the source root. Their events are hints only
// (DESIGN.md "Known behaviour of the parts"); this adapter adds what the recursive
// root subscription misses on Linux: a directory that appears together with
// subdirectories (mkdir -p, moved in, renamed) has those subdirectories unwatched, or
// watched under its old name. A subscription rooted at such a directory watches them
// under their real paths (the rename and mkdir -p tests of test/integration/producer.int.test.ts
// fail without it).
// When those extra subscriptions pile up, one fresh root subscription replaces them all.
// A directory unchanged since before the root subscription's crawl began was crawled
// with its subdirectories and needs none: on a first start every directory is new to
// the index, and a subscription per directory would hold the tree several times over.
import path from 'node:path';
import watcher from '@parcel/watcher';
import type { Logger } from '../../shared/logger.ts';
import type { WatchHint } from '../ports/source-tree.ts';

// The kernel stamps ctime from a coarse clock, up to a tick (1-10 ms) behind the real time.
export const CHANGE_TIME_SLACK_MS = 50;

export type { WatchHint } from '../ports/source-tree.ts';

export type TreeWatcherOptions = {
  root: string;
  /** Passed to @parcel/watcher for the root subscription: excluded trees are not even watched. */
  ignore: string[];
  isExcluded: (relPath: string) => boolean;
  onHints: (hints: WatchHint[]) => void;
  /** The watcher lost track (native error): the caller reconciles. */
  onError: (error: Error) => void;
  logger?: Logger;
  /** Wall-clock ms (injected so tests can hold time still). */
  now?: () => number;
  /** Extra subscriptions tolerated before they are consolidated into a new root subscription. */
  maxExtraSubscriptions?: number;
  /** Consolidation re-crawls the whole tree: not more often than this. */
  minConsolidationIntervalMs?: number;
};

export class TreeWatcher {
  private rootSubscription: watcher.AsyncSubscription | undefined;
  private readonly extra = new Map<string, watcher.AsyncSubscription>();
  private lastConsolidation = 0;
  /** Directories whose last change is older than this were crawled by the root subscription. */
  private crawledBefore = Number.NEGATIVE_INFINITY;
  private stopped = false;
  private readonly prefix: string;

  private readonly now: () => number;

  constructor(private readonly options: TreeWatcherOptions) {
    this.now = options.now ?? Date.now;
    this.prefix = options.root.endsWith(path.sep) ? options.root : options.root + path.sep;
  }

  get subscriptionCount(): number {
    return this.extra.size + (this.rootSubscription === undefined ? 0 : 1);
  }

  /** Subscribes the root; resolves when the initial crawl is done and events flow. */
  async start(): Promise<void> {
    // Set before the crawl ends: what it will cover needs no subscription of its own meanwhile.
    this.crawledBefore = this.now() - CHANGE_TIME_SLACK_MS;
    this.rootSubscription = await this.subscribe(this.options.root, this.options.ignore);
    this.lastConsolidation = this.now();
  }

  /**
   * Makes sure changes below `relDir` (last changed at `changedAtMs`, its ctime) are
   * reported under their real paths. Resolves with whether a subscription was made.
   */
  async watchSubtree(relDir: string, changedAtMs: number): Promise<boolean> {
    if (this.stopped || changedAtMs < this.crawledBefore) return false;
    const previous = this.extra.get(relDir);
    this.extra.delete(relDir);
    if (previous !== undefined) await this.unsubscribe(previous, relDir);
    try {
      this.extra.set(relDir, await this.subscribe(path.join(this.options.root, relDir), []));
    } catch (error) {
      // Gone again already, or out of watches: the reconcile safety net covers it.
      this.options.logger?.debug({ err: error, dir: relDir }, 'could not subscribe below a new directory');
      return false;
    }
    if (this.extra.size > (this.options.maxExtraSubscriptions ?? 256)) await this.consolidate();
    return true;
  }

  /** Drops extra subscriptions at or below a directory that went away. */
  async forget(relDir: string): Promise<void> {
    for (const [dir, subscription] of [...this.extra]) {
      if (dir === relDir || dir.startsWith(`${relDir}/`)) {
        this.extra.delete(dir);
        await this.unsubscribe(subscription, dir);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const [dir, subscription] of [...this.extra]) await this.unsubscribe(subscription, dir);
    this.extra.clear();
    if (this.rootSubscription !== undefined) await this.unsubscribe(this.rootSubscription, '');
    this.rootSubscription = undefined;
  }

  private async consolidate(): Promise<void> {
    const now = this.now();
    if (now - this.lastConsolidation < (this.options.minConsolidationIntervalMs ?? 600_000)) return;
    this.lastConsolidation = now;
    this.options.logger?.info(
      { extraSubscriptions: this.extra.size },
      'consolidating watcher subscriptions into a new root subscription',
    );
    // The new root subscription is complete before the old ones go: no gap.
    const fresh = await this.subscribe(this.options.root, this.options.ignore);
    this.crawledBefore = now - CHANGE_TIME_SLACK_MS;
    const old = this.rootSubscription;
    this.rootSubscription = fresh;
    if (old !== undefined) await this.unsubscribe(old, '');
    for (const [dir, subscription] of [...this.extra]) await this.unsubscribe(subscription, dir);
    this.extra.clear();
  }

  private subscribe(dir: string, ignore: string[]): Promise<watcher.AsyncSubscription> {
    return watcher.subscribe(
      dir,
      (error, events) => {
        if (this.stopped) return;
        if (error) {
          this.options.onError(error);
          return;
        }
        const hints: WatchHint[] = [];
        for (const event of events) {
          if (!event.path.startsWith(this.prefix)) continue;
          const rel = event.path.slice(this.prefix.length).split(path.sep).join('/');
          if (!this.options.isExcluded(rel)) hints.push({ path: rel, type: event.type });
        }
        if (hints.length > 0) this.options.onHints(hints);
      },
      { backend: 'inotify', ignore },
    );
  }

  private async unsubscribe(subscription: watcher.AsyncSubscription, dir: string): Promise<void> {
    try {
      await subscription.unsubscribe();
    } catch (error) {
      // Known: throws "Unable to remove watcher" once the watched subtree was removed.
      this.options.logger?.debug({ err: error, dir }, 'unsubscribe failed (subtree already gone)');
    }
  }
}
