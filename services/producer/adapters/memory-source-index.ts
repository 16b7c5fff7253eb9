// The source index in memory: the same contract as the SQLite index
// (test/helpers/source-index-contract.ts), for the model test and unit tests.
import { type EntryState } from '../../../schemas/event.ts';
import { attributesIn, hasAttributes } from '../../../schemas/entry-attributes.ts';
import { isBelow, parentOf, type RelPath } from '../../../schemas/rel-path.ts';
import type { IndexedChild } from '../domain/dir-compare.ts';
import type { Fingerprint } from '../domain/diff.ts';
import { applyIndexWrites, type IndexedEntry, type IndexWrite, type SourceIndex } from '../ports/source-index.ts';

type Undo = () => void;

export class MemorySourceIndex implements SourceIndex {
  private readonly entries = new Map<RelPath, IndexedEntry>();
  private readonly children = new Map<string, Set<RelPath>>();
  private readonly meta = new Map<string, string>();
  private readonly digests = new Map<string, Buffer>();
  private undo: Undo[] | undefined;

  get(path: RelPath): IndexedEntry | undefined {
    return this.entries.get(path);
  }

  countBelow(dir: string): number {
    return this.below(dir).length;
  }

  below(dir: string): RelPath[] {
    const found: RelPath[] = [];
    for (const path of this.entries.keys()) if (dir === '' || isBelow(path, dir)) found.push(path);
    return found.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }

  childSummaries(dir: string): IndexedChild[] {
    const start = dir === '' ? 0 : dir.length + 1;
    return [...(this.children.get(dir) ?? [])].map((path) => {
      const { state, fingerprint } = this.entries.get(path)!;
      const child: IndexedChild = { name: path.slice(start), kind: state.kind, fingerprint };
      if (state.kind !== 'symlink') child.mode = state.mode;
      if (state.kind === 'file') child.size = state.size;
      if (state.mtimeMs !== undefined) child.mtimeMs = state.mtimeMs;
      if (state.kind === 'symlink') child.target = state.target;
      if (state.owner !== undefined) child.owner = { uid: state.owner.uid, gid: state.owner.gid };
      if (hasAttributes(state)) child.attributes = attributesIn(state);
      return child;
    });
  }

  childrenDigest(dir: string): Buffer | undefined {
    return this.digests.get(dir);
  }

  setChildrenDigest(dir: string, digest: Buffer): void {
    this.digests.set(dir, Buffer.from(digest));
  }

  linkedPaths(link: string): RelPath[] {
    const paths: RelPath[] = [];
    for (const [path, { state }] of this.entries) if (state.kind === 'file' && state.link === link) paths.push(path);
    return paths;
  }

  hasHash(hash: string): boolean {
    for (const { state } of this.entries.values()) if (state.kind === 'file' && state.hash === hash) return true;
    return false;
  }

  put(path: RelPath, state: EntryState, seq: number, fingerprint: Fingerprint | undefined): void {
    this.remember(path);
    this.digests.delete(parentOf(path));
    this.entries.set(path, { path, state, seq, fingerprint });
    const parent = parentOf(path);
    let siblings = this.children.get(parent);
    if (siblings === undefined) this.children.set(parent, (siblings = new Set()));
    siblings.add(path);
  }

  remove(path: RelPath): void {
    this.remember(path);
    this.digests.delete(parentOf(path));
    this.digests.delete(path);
    this.entries.delete(path);
    this.children.get(parentOf(path))?.delete(path);
  }

  apply(writes: readonly IndexWrite[], meta: Readonly<Record<string, string>> = {}): void {
    applyIndexWrites(this, writes, meta);
  }

  counts(): Record<'file' | 'dir' | 'symlink', number> {
    const result = { file: 0, dir: 0, symlink: 0 };
    for (const { state } of this.entries.values()) result[state.kind]++;
    return result;
  }

  getMeta(key: string): string | undefined {
    return this.meta.get(key);
  }

  setMeta(key: string, value: string): void {
    const previous = this.meta.get(key);
    this.undo?.push(() => (previous === undefined ? this.meta.delete(key) : this.meta.set(key, previous)));
    this.meta.set(key, value);
  }

  transaction<T>(fn: () => T): T {
    if (this.undo !== undefined) return fn(); // nested: part of the outer transaction
    this.undo = [];
    try {
      const result = fn();
      this.undo = undefined;
      return result;
    } catch (error) {
      const undo = this.undo ?? [];
      this.undo = undefined;
      for (const step of undo.reverse()) step();
      throw error;
    }
  }

  close(): void {}

  private remember(path: RelPath): void {
    if (this.undo === undefined) return;
    const previous = this.entries.get(path);
    this.undo.push(() => {
      if (previous === undefined) {
        this.entries.delete(path);
        this.children.get(parentOf(path))?.delete(path);
      } else {
        this.entries.set(path, previous);
        const parent = parentOf(path);
        if (!this.children.has(parent)) this.children.set(parent, new Set());
        this.children.get(parent)!.add(path);
      }
    });
  }
}
