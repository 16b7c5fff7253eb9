// An applied index held in a Map: for unit and model tests, and small replicas.
import { isBelow, parentOf, type RelPath } from '../../../schemas/rel-path.ts';
import type { AppliedEntry } from '../domain/plan.ts';
import { assertsExistence, type AppliedIndex } from './applied-index.ts';

export class MemoryAppliedIndex implements AppliedIndex {
  private readonly map = new Map<RelPath, AppliedEntry>();

  get(path: RelPath): AppliedEntry | undefined {
    return this.map.get(path);
  }

  maxSeqBelow(path: RelPath): number {
    let max = -1;
    for (const [other, entry] of this.map) {
      if (entry.seq > max && isBelow(other, path) && assertsExistence(entry)) max = entry.seq;
    }
    return max;
  }

  childCount(path: RelPath): number {
    let count = 0;
    for (const [other, entry] of this.map) {
      if (entry.kind !== 'absent' && other !== path && parentOf(other) === path) count++;
    }
    return count;
  }

  record(path: RelPath, entry: AppliedEntry): void {
    this.map.set(path, entry);
  }

  forgetBelow(path: RelPath): void {
    for (const other of [...this.map.keys()]) if (isBelow(other, path)) this.map.delete(other);
  }

  pruneTombstones(seq: number): number {
    let pruned = 0;
    for (const [path, entry] of [...this.map]) {
      if (entry.kind === 'absent' && entry.seq < seq) {
        this.map.delete(path);
        pruned++;
      }
    }
    return pruned;
  }

  pathsWithHash(hash: string, limit: number): RelPath[] {
    const found: RelPath[] = [];
    for (const [path, entry] of this.map) {
      if (found.length >= limit) break;
      if (entry.kind === 'file' && entry.hash === hash) found.push(path);
    }
    return found;
  }

  *entries(): Iterable<[RelPath, AppliedEntry]> {
    yield* [...this.map].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }
}
