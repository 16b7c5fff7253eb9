// An in-memory source tree and the operations a user performs on it. Each operation
// behaves like its POSIX counterpart (failing where the real call fails) and returns the
// paths a watcher would report.
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { EntryState } from '../../schemas/event.ts';
import { ancestorsOf, isBelow, joinRel, parentOf, type RelPath } from '../../schemas/rel-path.ts';

export type SourceOp<P = string> =
  | { op: 'write'; path: P; content: string; mode: number; deep: boolean }
  | { op: 'append'; path: P; content: string }
  | { op: 'touch'; path: P; mtimeMs: number }
  | { op: 'chmod'; path: P; mode: number }
  | { op: 'mkdir'; path: P; mode: number; deep: boolean }
  | { op: 'symlink'; path: P; target: string }
  | { op: 'remove'; path: P }
  | { op: 'rename'; from: P; to: P }
  | { op: 'replace-with-file'; path: P; content: string }
  | { op: 'replace-with-dir'; path: P; child: string; content: string };

/**
 * A path chosen relative to the tree as it is when the operation runs: with an empty
 * tail, one of the existing entries (or, with `recent`, one of the paths the last
 * operations used, existing or not); otherwise the tail appended to an existing
 * directory (or the root). Random absolute paths would almost never meet each other;
 * these produce the patterns that matter: delete and recreate, rename and rename back.
 */
export type PathRef = { pick: number; recent: boolean; tail: string[] };

type FileNode = { kind: 'file'; content: string; mode: number; mtimeMs: number };
type Node = FileNode | { kind: 'dir'; mode: number } | { kind: 'symlink'; target: string };

export function sha256(content: string): string {
  return createHash('sha256').update(content).digest('hex');
}

export class SourceTree {
  private readonly nodes = new Map<string, Node>();
  private clock = 1_700_000_000_000;
  /** The operations applied so far, with their paths resolved: the story of a failing case. */
  readonly history: string[] = [];

  private readonly recent: string[] = [];

  resolve(ref: PathRef): string {
    let bases: string[];
    if (ref.recent && this.recent.length > 0) bases = this.recent;
    else if (ref.tail.length === 0) bases = [...this.nodes.keys()].sort();
    else bases = ['', ...[...this.nodes].filter(([, n]) => n.kind === 'dir').map(([p]) => p)].sort();
    const base = bases.length === 0 ? '' : bases[ref.pick % bases.length]!;
    const path = [base, ...ref.tail].filter((part) => part !== '').join('/');
    const resolved = path === '' ? NAMES[ref.pick % NAMES.length]! : path;
    this.recent.unshift(resolved);
    this.recent.length = Math.min(this.recent.length, 4);
    return resolved;
  }

  /** Resolves the operation's paths, applies it, and returns the paths a watcher reports. */
  run(abstract: SourceOp<PathRef>): string[] {
    const op = (abstract.op === 'rename'
      ? { ...abstract, from: this.resolve(abstract.from), to: this.resolve(abstract.to) }
      : { ...abstract, path: this.resolve(abstract.path) }) as SourceOp;
    const hints = this.apply(op);
    this.history.push(`${JSON.stringify(op)}${hints.length === 0 ? ' (failed)' : ''}`);
    return hints;
  }

  /** The state the producer would observe by lstat + hashing. */
  observe(path: string): EntryState | undefined {
    const node = this.nodes.get(path);
    if (node === undefined) return undefined;
    if (node.kind === 'file') {
      return { kind: 'file', size: Buffer.byteLength(node.content), mode: node.mode, mtimeMs: node.mtimeMs, hash: sha256(node.content) };
    }
    return node.kind === 'dir' ? { kind: 'dir', mode: node.mode } : { kind: 'symlink', target: node.target };
  }

  /** Paths strictly below `dir`, parents first. */
  below(dir: string): RelPath[] {
    return [...this.nodes.keys()].filter((p) => isBelow(p, dir)).sort(byDepthThenName) as RelPath[];
  }

  children(dir: string): string[] {
    return [...this.nodes.keys()].filter((p) => parentOf(p) === dir);
  }

  /** Every entry as the convergence check compares it. */
  snapshot(): Map<string, EntryState> {
    const result = new Map<string, EntryState>();
    for (const path of this.nodes.keys()) result.set(path, this.observe(path)!);
    return result;
  }

  /** Applies one operation; returns the paths a watcher reports (none if it failed). */
  apply(op: SourceOp): string[] {
    this.clock += 7;
    switch (op.op) {
      case 'write':
        if (op.deep) this.mkdirs(parentOf(op.path));
        if (!this.parentIsDir(op.path) || this.kindOf(op.path) === 'dir' || this.kindOf(op.path) === 'symlink') return [];
        this.nodes.set(op.path, { kind: 'file', content: op.content, mode: op.mode, mtimeMs: this.clock });
        return [...(op.deep ? ancestorsOf(op.path) : []), op.path];
      case 'append': {
        const node = this.nodes.get(op.path);
        if (node?.kind !== 'file') return [];
        this.nodes.set(op.path, { ...node, content: node.content + op.content, mtimeMs: this.clock });
        return [op.path];
      }
      case 'touch': {
        const node = this.nodes.get(op.path);
        if (node?.kind !== 'file') return [];
        this.nodes.set(op.path, { ...node, mtimeMs: op.mtimeMs });
        return [op.path];
      }
      case 'chmod': {
        const node = this.nodes.get(op.path);
        if (node === undefined || node.kind === 'symlink') return [];
        this.nodes.set(op.path, { ...node, mode: op.mode });
        return [op.path];
      }
      case 'mkdir':
        if (op.deep) return this.mkdirs(op.path, op.mode);
        if (!this.parentIsDir(op.path) || this.nodes.has(op.path)) return [];
        this.nodes.set(op.path, { kind: 'dir', mode: op.mode });
        return [op.path];
      case 'symlink':
        if (!this.parentIsDir(op.path) || this.nodes.has(op.path)) return [];
        this.nodes.set(op.path, { kind: 'symlink', target: op.target });
        return [op.path];
      case 'remove':
        if (!this.nodes.has(op.path)) return [];
        this.removeTree(op.path);
        return [op.path];
      case 'rename':
        return this.rename(op.from, op.to);
      case 'replace-with-file':
        if (!this.nodes.has(op.path)) return [];
        this.removeTree(op.path);
        this.nodes.set(op.path, { kind: 'file', content: op.content, mode: 0o644, mtimeMs: this.clock });
        return [op.path];
      case 'replace-with-dir': {
        if (!this.nodes.has(op.path)) return [];
        this.removeTree(op.path);
        this.nodes.set(op.path, { kind: 'dir', mode: 0o755 });
        const child = joinRel(op.path, op.child);
        this.nodes.set(child, { kind: 'file', content: op.content, mode: 0o644, mtimeMs: this.clock });
        return [op.path, child];
      }
    }
  }

  private kindOf(path: string): Node['kind'] | undefined {
    return this.nodes.get(path)?.kind;
  }

  private parentIsDir(path: string): boolean {
    const parent = parentOf(path);
    return parent === '' || this.kindOf(parent) === 'dir';
  }

  private mkdirs(dir: string, mode = 0o755): string[] {
    if (dir === '') return [];
    const created: string[] = [];
    for (const path of [...ancestorsOf(dir), dir]) {
      const kind = this.kindOf(path);
      if (kind === 'dir') continue;
      if (kind !== undefined) return created;
      this.nodes.set(path, { kind: 'dir', mode: path === dir ? mode : 0o755 });
      created.push(path);
    }
    return created;
  }

  private removeTree(path: string): void {
    this.nodes.delete(path);
    for (const below of this.below(path)) this.nodes.delete(below);
  }

  /** rename(2): onto nothing, a file onto a file, or a directory onto an empty directory. */
  private rename(from: string, to: string): string[] {
    const node = this.nodes.get(from);
    if (node === undefined || from === to || isBelow(to, from) || !this.parentIsDir(to)) return [];
    const existing = this.nodes.get(to);
    if (existing !== undefined) {
      const bothDirs = node.kind === 'dir' && existing.kind === 'dir' && this.below(to).length === 0;
      const bothNonDirs = node.kind !== 'dir' && existing.kind !== 'dir';
      if (!bothDirs && !bothNonDirs) return [];
    }
    const moved = this.below(from).map((p) => [p, this.nodes.get(p)!] as const);
    this.removeTree(from);
    this.nodes.set(to, node);
    for (const [p, n] of moved) this.nodes.set(to + p.slice(from.length), n);
    return [from, to];
  }
}

export function byDepthThenName(a: string, b: string): number {
  const depth = (p: string) => p.split('/').length;
  return depth(a) - depth(b) || (a < b ? -1 : a > b ? 1 : 0);
}

// Few names, so operations collide; odd ones, because real trees have them.
const NAMES = ['a', 'b', 'c d', 'ü', 'x\ny', '🙂'];
const segment = fc.constantFrom(...NAMES);
export const pathRefArb: fc.Arbitrary<PathRef> = fc.record({
  pick: fc.nat(),
  recent: fc.boolean(),
  tail: fc.oneof({ weight: 3, arbitrary: fc.constant<string[]>([]) }, { weight: 3, arbitrary: fc.array(segment, { minLength: 1, maxLength: 1 }) }, { weight: 1, arbitrary: fc.array(segment, { minLength: 2, maxLength: 3 }) }),
});
const path = pathRefArb;
const content = fc.string({ maxLength: 6 });
const mode = fc.constantFrom(0o644, 0o600, 0o755, 0o700, 0o4755);

export const sourceOpArb: fc.Arbitrary<SourceOp<PathRef>> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('write' as const), path, content, mode, deep: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('append' as const), path, content }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('touch' as const), path, mtimeMs: fc.integer({ min: 0, max: 2e12 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('chmod' as const), path, mode }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('mkdir' as const), path, mode, deep: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('symlink' as const), path, target: fc.constantFrom('a', '../outside', '/etc/passwd', 'c d/ü') }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('remove' as const), path }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('rename' as const), from: path, to: path }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('replace-with-file' as const), path, content }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('replace-with-dir' as const), path, child: segment, content }) },
);
