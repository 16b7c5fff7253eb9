// The watched directories as a tree of nodes, each known by the kernel's name for it
// (an inotify watch descriptor, a fanotify file handle) and placed by parent + name.
// Events name a directory by that key; its path is read by walking up to the root, so a
// rename or a delete is one node moved or dropped and every path below stays right.
// Pure: the watchers feed it what the kernel reported.

export type DirNode<K> = {
  key: K;
  name: string;
  parent: DirNode<K> | undefined;
  children: Map<string, DirNode<K>> | undefined;
};

export class DirectoryTree<K> {
  private readonly byKey = new Map<K, DirNode<K>>();
  private rootNode: DirNode<K> | undefined;

  get size(): number {
    return this.byKey.size;
  }

  get root(): DirNode<K> | undefined {
    return this.rootNode;
  }

  setRoot(key: K): DirNode<K> {
    if (this.rootNode !== undefined) this.detach(this.rootNode);
    this.rootNode = { key, name: '', parent: undefined, children: undefined };
    this.byKey.set(key, this.rootNode);
    return this.rootNode;
  }

  get(key: K): DirNode<K> | undefined {
    return this.byKey.get(key);
  }

  has(key: K): boolean {
    return this.byKey.has(key);
  }

  childOf(node: DirNode<K>, name: string): DirNode<K> | undefined {
    return node.children?.get(name);
  }

  /** The node at a root-relative path, if every directory on the way is known. */
  at(relPath: string): DirNode<K> | undefined {
    let node = this.rootNode;
    if (relPath === '') return node;
    for (const name of relPath.split('/')) {
      node = node?.children?.get(name);
      if (node === undefined) return undefined;
    }
    return node;
  }

  /** Root-relative path of a node ('' for the root); undefined once it left the tree. */
  pathOf(node: DirNode<K>): string | undefined {
    if (node === this.rootNode) return '';
    const names: string[] = [];
    let current: DirNode<K> | undefined = node;
    while (current !== undefined && current !== this.rootNode) {
      names.push(current.name);
      current = current.parent;
    }
    if (current !== this.rootNode) return undefined;
    return names.reverse().join('/');
  }

  /**
   * Places the directory `key` as `name` in `parent`: a new directory, or a known one
   * that was renamed or moved. What held that name before was replaced and leaves.
   */
  attach(key: K, parent: DirNode<K>, name: string): DirNode<K> {
    let node = this.byKey.get(key);
    const occupant = parent.children?.get(name);
    if (occupant !== undefined && occupant !== node) this.detach(occupant);
    if (node === undefined) {
      node = { key, name, parent, children: undefined };
      this.byKey.set(key, node);
    } else {
      if (node === this.rootNode) return node;
      node.parent?.children?.delete(node.name);
      node.name = name;
      node.parent = parent;
    }
    (parent.children ??= new Map()).set(name, node);
    return node;
  }

  /** Registers `key` at a path whose parent is known (a walk lists parents first). */
  attachAt(relPath: string, key: K): DirNode<K> | undefined {
    if (relPath === '') return this.rootNode?.key === key ? this.rootNode : this.setRoot(key);
    const slash = relPath.lastIndexOf('/');
    const parent = this.at(slash < 0 ? '' : relPath.slice(0, slash));
    return parent === undefined ? undefined : this.attach(key, parent, relPath.slice(slash + 1));
  }

  /** The kernel's name for a known directory changed (it is watched now, or watched anew). */
  rekey(node: DirNode<K>, key: K): void {
    if (node.key === key) return;
    const holder = this.byKey.get(key);
    if (holder !== undefined && holder !== node) this.detach(holder);
    if (this.byKey.get(node.key) === node) this.byKey.delete(node.key);
    node.key = key;
    this.byKey.set(key, node);
  }

  /** Drops a directory that was deleted or left the tree, with all below it; returns their keys. */
  detach(node: DirNode<K>): K[] {
    node.parent?.children?.delete(node.name);
    node.parent = undefined;
    const keys: K[] = [];
    const stack = [node];
    while (stack.length > 0) {
      const current = stack.pop()!;
      if (this.byKey.get(current.key) === current) this.byKey.delete(current.key);
      keys.push(current.key);
      if (current.children !== undefined) for (const child of current.children.values()) stack.push(child);
      current.children = undefined;
    }
    if (node === this.rootNode) this.rootNode = undefined;
    return keys;
  }
}
