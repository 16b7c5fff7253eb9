// The operations a user performs on the source, as random data, run on the in-memory
// source tree (services/producer/adapters/memory-source-tree.ts), which reports them to
// its watcher as an inode-based recursive watcher would.
import fc from 'fast-check';
import { MemorySourceTree } from '../../services/producer/adapters/memory-source-tree.ts';

export type SourceOp<P = string> =
  | { op: 'write'; path: P; content: string; mode: number; deep: boolean }
  | { op: 'append'; path: P; content: string }
  | { op: 'touch'; path: P; mtimeMs: number }
  | { op: 'chmod'; path: P; mode: number }
  | { op: 'chown'; path: P; uid: number; gid: number }
  | { op: 'mkdir'; path: P; mode: number; deep: boolean }
  | { op: 'symlink'; path: P; target: string }
  /** A link whose target is not valid UTF-8: not mirrorable, never retried. */
  | { op: 'symlink-bad'; path: P }
  | { op: 'remove'; path: P }
  | { op: 'rename'; from: P; to: P }
  | { op: 'replace-with-file'; path: P; content: string }
  | { op: 'replace-with-dir'; path: P; child: string; content: string }
  /** rm -rf a directory and recreate it at once with the same names and sizes, other bytes. */
  | { op: 'recreate'; path: P; salt: string };

/**
 * A path chosen relative to the tree as it is when the operation runs: with an empty
 * tail, one of the existing entries (or, with `recent`, one of the paths the last
 * operations used, existing or not); otherwise the tail appended to an existing
 * directory (or the root). Random absolute paths would almost never meet each other;
 * these produce the patterns that matter: delete and recreate, rename and rename back.
 */
export type PathRef = { pick: number; recent: boolean; tail: string[] };

export class SourceModel {
  readonly tree: MemorySourceTree;
  /** The operations applied so far, with their paths resolved: the story of a failing case. */
  readonly history: string[] = [];
  private readonly recent: string[] = [];

  constructor(now: () => number) {
    this.tree = new MemorySourceTree(now, { owners: true });
  }

  resolve(ref: PathRef): string {
    let bases: string[];
    const paths = this.tree.paths();
    if (ref.recent && this.recent.length > 0) bases = this.recent;
    else if (ref.tail.length === 0) bases = paths;
    else bases = ['', ...paths.filter((p) => this.tree.kindOf(p) === 'dir')];
    const base = bases.length === 0 ? '' : bases[ref.pick % bases.length]!;
    const path = [base, ...ref.tail].filter((part) => part !== '').join('/');
    const resolved = path === '' ? NAMES[ref.pick % NAMES.length]! : path;
    this.recent.unshift(resolved);
    this.recent.length = Math.min(this.recent.length, 4);
    return resolved;
  }

  run(abstract: SourceOp<PathRef>): boolean {
    const op = (
      abstract.op === 'rename'
        ? { ...abstract, from: this.resolve(abstract.from), to: this.resolve(abstract.to) }
        : { ...abstract, path: this.resolve(abstract.path) }
    ) as SourceOp;
    const done = this.apply(op);
    this.history.push(`${JSON.stringify(op)}${done ? '' : ' (failed)'}`);
    return done;
  }

  apply(op: SourceOp): boolean {
    const { tree } = this;
    switch (op.op) {
      case 'write': {
        const parent = op.path.includes('/') ? op.path.slice(0, op.path.lastIndexOf('/')) : '';
        if (op.deep && parent !== '') tree.mkdirs(parent);
        return tree.writeFile(op.path, op.content, op.mode);
      }
      case 'append':
        return tree.append(op.path, op.content);
      case 'touch':
        return tree.utimes(op.path, op.mtimeMs);
      case 'chmod':
        return tree.chmod(op.path, op.mode);
      case 'chown':
        return tree.chown(op.path, op.uid, op.gid);
      case 'mkdir':
        return op.deep ? tree.mkdirs(op.path, op.mode) : tree.mkdir(op.path, op.mode);
      case 'symlink':
        return tree.symlink(op.path, op.target);
      case 'symlink-bad':
        return tree.symlink(op.path, Buffer.from([0x61, 0xff, 0x62]));
      case 'remove':
        return tree.remove(op.path);
      case 'rename':
        return tree.rename(op.from, op.to);
      case 'replace-with-file':
        return tree.remove(op.path) && tree.writeFile(op.path, op.content);
      case 'replace-with-dir':
        // Filled at once: the watcher has not placed a watch on it yet when the child appears.
        return (
          tree.remove(op.path) &&
          tree.mkdir(op.path, 0o755, { racing: true }) &&
          tree.writeFile(`${op.path}/${op.child}`, op.content)
        );
      case 'recreate':
        return this.recreate(op.path, op.salt);
    }
  }

  private recreate(dir: string, salt: string): boolean {
    const { tree } = this;
    if (tree.kindOf(dir) !== 'dir') return false;
    const snapshot = tree.snapshot();
    const below = [...snapshot]
      .filter(([p]) => p.startsWith(`${dir}/`))
      .sort(([a], [b]) => a.split('/').length - b.split('/').length);
    // Recreated at once (tar, cp -r): no watch is placed in time to see what is written inside.
    tree.remove(dir);
    tree.mkdir(dir, 0o755, { racing: true });
    for (const [p, state] of below) {
      if (state.kind === 'dir') tree.mkdir(p, state.mode, { racing: true });
      else if (state.kind === 'symlink') tree.symlink(p, state.target);
      else tree.writeFile(p, Buffer.alloc(state.size, salt.length > 0 ? salt : 'z'), state.mode);
    }
    return true;
  }
}

// Few names, so operations collide; odd ones, because real trees have them.
const NAMES = ['a', 'b', 'c d', 'ü', 'x\ny', '🙂'];
const segment = fc.constantFrom(...NAMES);
export const pathRefArb: fc.Arbitrary<PathRef> = fc.record({
  pick: fc.nat(),
  recent: fc.boolean(),
  tail: fc.oneof(
    { weight: 3, arbitrary: fc.constant<string[]>([]) },
    { weight: 3, arbitrary: fc.array(segment, { minLength: 1, maxLength: 1 }) },
    { weight: 1, arbitrary: fc.array(segment, { minLength: 2, maxLength: 3 }) },
  ),
});
const path = pathRefArb;
const content = fc.string({ maxLength: 6 });
const mode = fc.constantFrom(0o644, 0o600, 0o755, 0o700, 0o4755);

export const sourceOpArb: fc.Arbitrary<SourceOp<PathRef>> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ op: fc.constant('write' as const), path, content, mode, deep: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('append' as const), path, content }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('touch' as const), path, mtimeMs: fc.integer({ min: 0, max: 2e12 }) }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('chmod' as const), path, mode }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('chown' as const),
      path,
      uid: fc.constantFrom(0, 33),
      gid: fc.constantFrom(0, 7),
    }),
  },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('mkdir' as const), path, mode, deep: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant('symlink' as const),
      path,
      target: fc.constantFrom('a', '../outside', '/etc/passwd', 'c d/ü'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('symlink-bad' as const), path }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('remove' as const), path }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('rename' as const), from: path, to: path }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('replace-with-file' as const), path, content }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('replace-with-dir' as const), path, child: segment, content }) },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant('recreate' as const), path, salt: fc.constantFrom('x', 'y', 'q') }),
  },
);
