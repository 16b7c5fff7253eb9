// The producer's logic over the in-memory source: watcher hints → the real diffPath →
// events with seqs from the real SeqClock, split into partitions by the real partitioner.
import type { EntryState, MirrorEvent } from '../../schemas/event.ts';
import { partitionOf } from '../../schemas/partitioner.ts';
import { ancestorsOf, isBelow, parentOf, relPath, type RelPath } from '../../schemas/rel-path.ts';
import { diffPath, type Change } from '../../services/producer/domain/diff.ts';
import { SeqClock } from '../../services/producer/domain/seq-clock.ts';
import type { SourceTree } from './source-model.ts';

export class ProducerModel {
  readonly partitions: MirrorEvent[][];
  private readonly index = new Map<RelPath, EntryState>();
  private readonly clock: SeqClock;

  constructor(
    private readonly source: SourceTree,
    partitionCount: number,
    /** Wall-clock microseconds; may step backwards, as real clocks do. */
    nowMicros: () => number,
  ) {
    this.partitions = Array.from({ length: partitionCount }, () => []);
    this.clock = new SeqClock(0, nowMicros);
  }

  /** One watcher batch: sorted by path, one hint per path, as @parcel/watcher delivers them. */
  handleHints(paths: Iterable<string>): void {
    for (const path of [...new Set(paths)].sort()) {
      // Every indexed entry's parent is indexed as a directory, or a reconcile could never reach it.
      for (const ancestor of ancestorsOf(path)) {
        if (this.index.get(relPath(ancestor))?.kind !== 'dir') this.publishDiff(relPath(ancestor));
      }
      this.reconcile(relPath(path));
    }
  }

  /** The safety net: compare the whole tree with the index. */
  reconcileAll(): void {
    for (const name of this.childNames('')) this.reconcile(relPath(name));
  }

  private publishDiff(path: RelPath): EntryState | undefined {
    const observed = this.source.observe(path);
    this.publish(diffPath(path, this.index.get(path), observed, () => this.indexedBelow(path)));
    return observed;
  }

  private reconcile(path: RelPath): void {
    const observed = this.publishDiff(path);
    if (observed?.kind === 'dir') {
      for (const child of this.childNames(path)) this.reconcile(child);
    }
  }

  private childNames(dir: string): RelPath[] {
    const names = new Set<string>(this.source.children(dir));
    for (const path of this.index.keys()) if (parentOf(path) === dir) names.add(path);
    return [...names].sort().map((name) => relPath(name));
  }

  private indexedBelow(dir: RelPath): RelPath[] {
    return [...this.index.keys()].filter((p) => isBelow(p, dir));
  }

  private publish(changes: Change[]): void {
    for (const { path, next } of changes) {
      const seq = this.clock.next();
      const base = { source: 'model', seq, ts: Math.floor(seq / 1000), path };
      let event: MirrorEvent;
      if (next === null) {
        event = { ...base, op: 'delete' };
        this.index.delete(path);
      } else {
        event = next.kind === 'file' ? { ...base, op: 'file', size: next.size, mode: next.mode, mtimeMs: next.mtimeMs, hash: next.hash } : next.kind === 'dir' ? { ...base, op: 'dir', mode: next.mode } : { ...base, op: 'symlink', target: next.target };
        this.index.set(path, next);
      }
      this.partitions[partitionOf(path, this.partitions.length)]!.push(event);
    }
  }
}
