// The entries of the in-memory source tree (memory-source-tree.ts), by relative path,
// with the inode numbers and change times a real filesystem would give them.
import { nameFromBytes } from '../../../schemas/name-bytes.ts';
import { isBelow, parentOf } from '../../../schemas/rel-path.ts';
import type { EntryState, Owner } from '../../../schemas/event.ts';
import type { Fingerprint } from '../domain/diff.ts';
import type { AttributeRead, Probe } from '../ports/source-tree.ts';
import { attributesOf, type AttributeScope } from '../../shared/attributes.ts';
import { sha256Hex } from '../../shared/content-store.ts';

/** `xattrs`: name -> value, ACLs as system.posix_acl_* (as the kernel lists them). */
type Base = { ino: number; ctimeMs: number; unreadable?: boolean; owner?: Owner; xattrs?: Map<string, Buffer> };
export type MemoryNode =
  | (Base & { kind: 'file'; mode: number; content: Buffer; mtimeMs: number })
  | (Base & { kind: 'dir'; mode: number })
  | (Base & { kind: 'symlink'; target: Buffer })
  | (Base & { kind: 'special' });

export class MemoryNodes {
  private readonly byPath = new Map<string, MemoryNode>();
  private readonly root: MemoryNode;
  private inodes = 1;
  private readonly freeInodes: number[] = [];
  private changes = 0;

  constructor(readonly now: () => number) {
    this.root = { kind: 'dir', ino: this.inode(), mode: 0o755, ctimeMs: this.stamp() };
  }

  /** Freed inode numbers are used again first, as ext4 does: a recreated directory may keep its number. */
  inode(): number {
    return this.freeInodes.pop() ?? this.inodes++;
  }

  stamp(): number {
    // Distinct for every change, like a nanosecond ctime: only ever compared for equality.
    return this.now() + ++this.changes / 1000; // steps a double near 1.7e12 can hold
  }

  node(relPath: string): MemoryNode | undefined {
    return relPath === '' ? this.root : this.byPath.get(relPath);
  }

  set(relPath: string, node: MemoryNode): void {
    this.byPath.set(relPath, node);
  }

  /** Forgets an entry (not the root). */
  delete(relPath: string): void {
    this.byPath.delete(relPath);
  }

  /** Forgets an entry (not the root) and frees its inode number; returns the entry. */
  take(relPath: string): MemoryNode {
    const node = this.byPath.get(relPath)!;
    this.byPath.delete(relPath);
    this.freeInodes.push(node.ino);
    return node;
  }

  /** Every entry but the root. */
  entries(): IterableIterator<[string, MemoryNode]> {
    return this.byPath.entries();
  }

  paths(): string[] {
    return [...this.byPath.keys()];
  }

  searchDenied(relPath: string): boolean {
    for (const dir of ancestors(relPath)) if (this.node(dir)?.unreadable === true) return true;
    return false;
  }

  parentIsDir(relPath: string): boolean {
    return relPath !== '' && this.node(parentOf(relPath))?.kind === 'dir';
  }

  childNames(dir: string): string[] {
    const start = dir === '' ? 0 : dir.length + 1;
    return [...this.byPath.keys()]
      .filter((p) => parentOf(p) === dir)
      .map((p) => p.slice(start))
      .sort();
  }

  below(dir: string): string[] {
    return [...this.byPath.keys()].filter((p) => isBelow(p, dir));
  }

  touchParent(relPath: string): void {
    this.node(parentOf(relPath))!.ctimeMs = this.stamp();
  }
}

export function ancestors(relPath: string): string[] {
  const parts = relPath.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

export function fingerprintOf(node: MemoryNode): Fingerprint {
  const size = node.kind === 'file' ? node.content.length : 0;
  return { ino: node.ino, size, mtimeMs: node.kind === 'file' ? node.mtimeMs : 0, ctimeMs: node.ctimeMs };
}

/** A symlink's target in canonical text (schemas/name-bytes.ts). */
export function linkTarget(node: Extract<MemoryNode, { kind: 'symlink' }>): string {
  return nameFromBytes(node.target);
}

/** `owners`: every entry has one (root's until chowned), as lstat tells; without, none. */
function owned(node: MemoryNode, owners: boolean): { owner?: Owner } {
  return owners ? { owner: node.owner ?? { uid: 0, gid: 0 } } : {};
}

/** What lstat tells of an entry that can be reached. */
export function probeOf(node: MemoryNode, owners: boolean): Probe {
  switch (node.kind) {
    case 'file': {
      const { mode, mtimeMs } = node;
      return { kind: 'file', mode, fingerprint: fingerprintOf(node), mtimeMs, ...owned(node, owners) };
    }
    case 'dir':
      return { kind: 'dir', mode: node.mode, fingerprint: fingerprintOf(node), ...owned(node, owners) };
    case 'symlink':
      return { kind: 'symlink', ...owned(node, owners) };
    case 'special':
      return { kind: 'special' };
  }
}

/** The entry as the convergence check compares it; undefined when it is not mirrorable. */
export function stateOf(node: MemoryNode, owners: boolean): EntryState | undefined {
  switch (node.kind) {
    case 'file': {
      const { mode, mtimeMs, content } = node;
      return { kind: 'file', size: content.length, mode, mtimeMs, hash: sha256Hex(content), ...owned(node, owners) };
    }
    case 'dir':
      return { kind: 'dir', mode: node.mode, ...owned(node, owners) };
    case 'symlink': {
      const target = linkTarget(node);
      return target === undefined ? undefined : { kind: 'symlink', target, ...owned(node, owners) };
    }
    case 'special':
      return undefined;
  }
}

/** What the kernel would list of the node's attributes, as the producer carries them. */
export function attributesOfNode(node: MemoryNode, scope: AttributeScope): AttributeRead | undefined {
  if (node.kind === 'special') return undefined;
  return attributesOf(
    [...(node.xattrs ?? [])].map(([name, value]) => [Buffer.from(name), value] as const),
    scope,
  );
}

/** setxattr(2) on a node, removexattr(2) when `value` is null; false where the kernel refuses (a special file). */
export function setNodeXattr(node: MemoryNode, name: string, value: Buffer | null): boolean {
  if (node.kind === 'special') return false;
  node.xattrs ??= new Map<string, Buffer>();
  if (value === null) node.xattrs.delete(name);
  else node.xattrs.set(name, value);
  return true;
}
