// Directory entries of the applied index kept in memory, as a tree of path segments.
// Every event checks all its ancestors: with a map keyed by whole paths, each check
// hashes (and SQLite compares) a key as long as the ancestor, so a path of depth d costs
// O(d²) per record (a 1,900-level chain took ~70 ms a record; issue 20, M2). Walking a
// segment tree touches each byte of the path once: O(length).
//
// A cache, not a source of truth: the index tells it every change it makes (set, drop,
// drop below), and it starts over when it holds more than `maxNodes` nodes.
import type { AppliedEntry } from '../domain/plan.ts';

type DirEntry = Extract<AppliedEntry, { kind: 'dir' }>;
type Node = { entry: DirEntry | undefined; children: Map<string, Node> | undefined };

const emptyNode = (): Node => ({ entry: undefined, children: undefined });

export class DirCache {
  private root: Node = emptyNode();
  private nodes = 0;

  constructor(private readonly maxNodes: number) {}

  get(path: string): DirEntry | undefined {
    return this.find(path)?.entry;
  }

  set(path: string, entry: DirEntry): void {
    if (this.nodes >= this.maxNodes) this.clear();
    let node = this.root;
    let from = 0;
    for (;;) {
      const slash = path.indexOf('/', from);
      const segment = slash < 0 ? path.slice(from) : path.slice(from, slash);
      node.children ??= new Map();
      let child = node.children.get(segment);
      if (child === undefined) {
        child = emptyNode();
        node.children.set(segment, child);
        this.nodes++;
      }
      node = child;
      if (slash < 0) break;
      from = slash + 1;
    }
    node.entry = entry;
  }

  /** `path` is no longer a directory: it and everything cached below it go. */
  drop(path: string): void {
    const slash = path.lastIndexOf('/');
    const parent = slash < 0 ? this.root : this.find(path.slice(0, slash));
    parent?.children?.delete(slash < 0 ? path : path.slice(slash + 1));
  }

  /** Everything cached strictly below `path` goes. */
  dropBelow(path: string): void {
    const node = this.find(path);
    if (node !== undefined) node.children = undefined;
  }

  clear(): void {
    this.root = emptyNode();
    this.nodes = 0;
  }

  /**
   * The cached entries of the ancestors of `path` ('' excluded), outermost first, in one
   * walk; undefined where nothing is cached. `lookup` is asked for those (and may cache).
   */
  ancestors(path: string, lookup: (ancestor: string) => AppliedEntry | undefined): (AppliedEntry | undefined)[] {
    const result: (AppliedEntry | undefined)[] = [];
    let node: Node | undefined = this.root;
    let from = 0;
    for (let slash = path.indexOf('/'); slash >= 0; slash = path.indexOf('/', from)) {
      const segment = path.slice(from, slash);
      const parent: Node | undefined = node;
      node = parent?.children?.get(segment);
      if (node?.entry !== undefined) result.push(node.entry);
      else {
        result.push(lookup(path.slice(0, slash)));
        // lookup may have cached it: from the parent in one step, from the root only when
        // the parent was not cached either (then this is a cold path anyway).
        node = parent !== undefined ? parent.children?.get(segment) : this.find(path.slice(0, slash));
      }
      from = slash + 1;
    }
    return result;
  }

  private find(path: string): Node | undefined {
    let node: Node | undefined = this.root;
    let from = 0;
    for (;;) {
      const slash = path.indexOf('/', from);
      node = node.children?.get(slash < 0 ? path.slice(from) : path.slice(from, slash));
      if (node === undefined || slash < 0) return node;
      from = slash + 1;
    }
  }
}
