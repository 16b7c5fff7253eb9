// An applied index held in Maps: for unit and model tests, and small replicas. Scans are
// linear; the SQLite index is the one built for millions of entries.
import { ancestorsOf, isBelow, parentOf, type RelPath } from '../../../schemas/rel-path.ts';
import type { AppliedEntry } from '../domain/plan.ts';
import { assertsExistence, compareUtf8, LINK_PEERS, type HealWait, type ReplicaIndex } from './applied-index.ts';

export class MemoryAppliedIndex implements ReplicaIndex {
  private readonly map = new Map<RelPath, AppliedEntry>();
  private readonly epochs = new Map<RelPath, number>();
  private readonly meta = new Map<string, string>();
  private readonly waits = new Map<string, HealWait>();
  private currentEpoch = 0;

  get(path: RelPath): AppliedEntry | undefined {
    return this.map.get(path);
  }

  ancestorEntries(path: RelPath): (AppliedEntry | undefined)[] {
    return ancestorsOf(path).map((ancestor) => this.map.get(ancestor as RelPath));
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
    this.epochs.set(path, this.currentEpoch);
  }

  forgetBelow(path: RelPath): void {
    for (const other of [...this.map.keys()]) if (isBelow(other, path)) this.remove(other);
  }

  pruneTombstones(seq: number, limit = Number.POSITIVE_INFINITY): number {
    let pruned = 0;
    for (const [path, entry] of [...this.map]) {
      if (pruned >= limit) break;
      if (entry.kind === 'absent' && entry.seq < seq) {
        this.remove(path);
        pruned++;
      }
    }
    return pruned;
  }

  linkPeers(link: string, limit = LINK_PEERS): { path: RelPath; entry: AppliedEntry }[] {
    const found: { path: RelPath; entry: AppliedEntry }[] = [];
    for (const [path, entry] of this.map) {
      if (found.length >= limit) break;
      if (entry.kind === 'file' && entry.link === link) found.push({ path, entry });
    }
    return found;
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
    yield* [...this.map].sort(([a], [b]) => compareUtf8(a, b));
  }

  get epoch(): number {
    return this.currentEpoch;
  }

  setEpoch(epoch: number): void {
    this.currentEpoch = epoch;
  }

  touch(path: RelPath): void {
    if (this.map.has(path)) this.epochs.set(path, this.currentEpoch);
  }

  staleEntries(limit: number, before?: RelPath): [RelPath, AppliedEntry][] {
    return [...this.map]
      .filter(
        ([path]) =>
          (this.epochs.get(path) ?? 0) < this.currentEpoch && (before === undefined || compareUtf8(path, before) < 0),
      )
      .sort(([a], [b]) => compareUtf8(b, a))
      .slice(0, limit);
  }

  directories(limit: number, after?: RelPath): RelPath[] {
    return [...this.map]
      .filter(([path, entry]) => entry.kind === 'dir' && (after === undefined || compareUtf8(path, after) > 0))
      .map(([path]) => path)
      .sort(compareUtf8)
      .slice(0, limit);
  }

  presentChildren(dir: RelPath | ''): string[] {
    const names: string[] = [];
    for (const [path, entry] of this.map) {
      if (entry.kind !== 'absent' && parentOf(path) === dir) names.push(dir === '' ? path : path.slice(dir.length + 1));
    }
    return names;
  }

  remove(path: RelPath): void {
    this.map.delete(path);
    this.epochs.delete(path);
  }

  hasPresentEntries(): boolean {
    for (const entry of this.map.values()) if (entry.kind !== 'absent') return true;
    return false;
  }

  clear(): void {
    this.map.clear();
    this.epochs.clear();
    this.waits.clear();
  }

  readMeta<T>(key: string): T | undefined {
    const text = this.meta.get(key);
    return text === undefined ? undefined : (JSON.parse(text) as T);
  }

  writeMeta(key: string, value: unknown): void {
    this.meta.set(key, JSON.stringify(value));
  }

  healWaits(limit: number): HealWait[] {
    return [...this.waits.values()].sort((a, b) => a.partition - b.partition || a.offset - b.offset).slice(0, limit);
  }

  recordHealWait(wait: HealWait): void {
    this.waits.set(`${wait.partition}:${wait.offset}`, wait);
  }

  dropHealWait(partition: number, offset: number): void {
    this.waits.delete(`${partition}:${offset}`);
  }

  commit(): void {}

  close(): void {}
}
