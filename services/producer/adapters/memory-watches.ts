// The in-memory source tree's watcher (memory-source-tree.ts), which behaves like an
// inode-based recursive watcher (inotify as @parcel/watcher uses it): each subscription
// maps watched directory inodes to the path they had when watched, so after a directory
// rename, changes inside it are reported under the old path until a subscription rooted
// at the new place covers it.
import { isBelow, joinRel, parentOf } from '../../../schemas/rel-path.ts';
import type { TreeWatch, WatchHint, WatchOptions, WatchSink } from '../ports/source-tree.ts';
import type { MemoryNode, MemoryNodes } from './memory-nodes.ts';

type Subscription = { root: string; watches: Map<number, string> };

export class MemoryWatches {
  private readonly subscriptions = new Set<Subscription>();
  private sinks: { sink: WatchSink; options: WatchOptions }[] = [];

  constructor(private readonly nodes: MemoryNodes) {}

  get subscriptionTotal(): number {
    return this.subscriptions.size;
  }

  watch(sink: WatchSink, options: WatchOptions): TreeWatch {
    const entry = { sink, options };
    this.sinks.push(entry);
    const owned = new Set<Subscription>([this.subscribe('')]);
    return {
      watchSubtree: async (dir) => {
        if (this.nodes.node(dir)?.kind !== 'dir') return false;
        owned.add(this.subscribe(dir));
        return true;
      },
      forget: async (dir) => {
        for (const sub of owned) {
          if (sub.root !== '' && (sub.root === dir || isBelow(sub.root, dir))) {
            owned.delete(sub);
            this.subscriptions.delete(sub);
          }
        }
      },
      get subscriptionCount() {
        return owned.size;
      },
      backend: 'memory',
      reason: 'the in-memory tree',
      status: () => ({ watched: owned.size, unwatched: 0 }),
      stop: async () => {
        for (const sub of owned) this.subscriptions.delete(sub);
        owned.clear();
        this.sinks = this.sinks.filter((e) => e !== entry);
      },
    };
  }

  /** Each subscription watching the parent places a watch on the new directory. */
  dirAdded(relPath: string, node: MemoryNode): void {
    const parent = this.nodes.node(parentOf(relPath))!;
    for (const sub of this.subscriptions) {
      const at = sub.watches.get(parent.ino);
      if (at !== undefined) sub.watches.set(node.ino, joinRel(at, relPath.slice(relPath.lastIndexOf('/') + 1)));
    }
  }

  /** A directory is gone: no subscription watches its inode any more. */
  dirRemoved(node: MemoryNode): void {
    for (const sub of this.subscriptions) sub.watches.delete(node.ino);
  }

  /** Reports a change of `relPath` through every subscription watching its parent, under the path it knows. */
  emit(relPath: string, type: WatchHint['type'], _options: { keepWatches?: boolean } = {}): void {
    const parent = this.nodes.node(parentOf(relPath));
    if (parent === undefined) return;
    const name = relPath.slice(relPath.lastIndexOf('/') + 1);
    const reported = new Set<string>();
    for (const sub of this.subscriptions) {
      const at = sub.watches.get(parent.ino);
      if (at !== undefined) reported.add(joinRel(at, name));
    }
    if (reported.size === 0) return;
    for (const { sink, options } of this.sinks) {
      const hints = [...reported].filter((path) => !options.isExcluded(path)).map((path) => ({ path, type }));
      if (hints.length > 0) sink.onHints(hints);
    }
  }

  private subscribe(root: string): Subscription {
    const sub: Subscription = { root, watches: new Map([[this.nodes.node(root)!.ino, root]]) };
    for (const p of this.nodes.below(root)) {
      const node = this.nodes.node(p)!;
      if (node.kind === 'dir') sub.watches.set(node.ino, p);
    }
    this.subscriptions.add(sub);
    return sub;
  }
}
