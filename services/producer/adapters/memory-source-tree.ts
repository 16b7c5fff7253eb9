// The source tree in memory, for the model test and unit tests: the same contract as the
// local filesystem (test/helpers/source-tree-contract.ts), plus the operations a user
// performs (each failing where its POSIX call fails). Its watcher behaves like an
// inode-based recursive watcher (inotify as @parcel/watcher uses it): each subscription
// maps watched directory inodes to the path they had when watched, so after a directory
// rename, changes inside it are reported under the old path until a subscription rooted
// at the new place covers it; a directory created while its parent is being populated
// (`mkdir -p`, flagged `racing`) is not watched at all. What the channel then loses, the
// test decides (test/model/lossy-watcher.ts).
import { createHash } from 'node:crypto';
import { isBelow, joinRel, parentOf } from '../../../schemas/rel-path.ts';
import type { EntryState } from '../../../schemas/event.ts';
import type { Fingerprint } from '../domain/diff.ts';
import type {
  LinkRead,
  Listing,
  Probe,
  ReadOptions,
  ReadResult,
  SourceTree,
  TreeWatch,
  WatchHint,
  WatchOptions,
  WatchSink,
} from '../ports/source-tree.ts';

type Base = { ino: number; ctimeMs: number; unreadable?: boolean };
export type MemoryNode =
  | (Base & { kind: 'file'; mode: number; content: Buffer; mtimeMs: number })
  | (Base & { kind: 'dir'; mode: number })
  | (Base & { kind: 'symlink'; target: Buffer })
  | (Base & { kind: 'special' });

type Subscription = { root: string; watches: Map<number, string> };

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

export class MemorySourceTree implements SourceTree {
  private readonly nodes = new Map<string, MemoryNode>();
  private readonly rootNode: MemoryNode;
  private inodes = 1;
  private readonly freeInodes: number[] = [];
  private changes = 0;
  private readonly subscriptions = new Set<Subscription>();
  private sinks: { sink: WatchSink; options: WatchOptions }[] = [];
  /** Called in the middle of every read: a test makes a file change while it is read. */
  duringRead: ((relPath: string) => void) | undefined;

  constructor(private readonly now: () => number = () => 1_700_000_000_000) {
    this.rootNode = { kind: 'dir', ino: this.inode(), mode: 0o755, ctimeMs: this.stamp() };
  }

  /** Freed inode numbers are used again first, as ext4 does: a recreated directory may keep its number. */
  private inode(): number {
    return this.freeInodes.pop() ?? this.inodes++;
  }

  // ---- the port ----

  lstat(relPath: string): Probe {
    const node = this.node(relPath);
    if (node === undefined) return { kind: 'missing' };
    if (this.searchDenied(relPath)) return { kind: 'unreadable', code: 'EACCES' };
    switch (node.kind) {
      case 'file':
        return { kind: 'file', mode: node.mode, fingerprint: fingerprintOf(node), mtimeMs: node.mtimeMs };
      case 'dir':
        return { kind: 'dir', mode: node.mode, fingerprint: fingerprintOf(node) };
      case 'symlink':
        return { kind: 'symlink' };
      case 'special':
        return { kind: 'special' };
    }
  }

  readdir(relDir: string): Listing {
    const node = this.node(relDir);
    if (node?.kind !== 'dir') return { status: 'missing' };
    if (node.unreadable === true) return { status: 'unreadable', code: 'EACCES' };
    const entries = this.childNames(relDir).map((name) => ({ name, kind: this.node(joinRel(relDir, name))!.kind }));
    return { status: 'ok', entries, notUtf8: 0 };
  }

  readlink(relPath: string): LinkRead {
    const node = this.node(relPath);
    if (node?.kind !== 'symlink') return { status: 'missing' };
    try {
      return { status: 'ok', target: strictUtf8.decode(node.target) };
    } catch {
      return { status: 'not-utf8' };
    }
  }

  async readFile(relPath: string, expected: Fingerprint, options: ReadOptions = {}): Promise<ReadResult> {
    await Promise.resolve();
    const before = this.node(relPath);
    if (before?.kind !== 'file') return { status: 'missing' };
    if (before.unreadable === true || this.searchDenied(relPath)) return { status: 'unreadable', code: 'EACCES' };
    const data = Buffer.from(before.content);
    this.duringRead?.(relPath);
    if (options.snapshot === true) return { status: 'ok', hash: sha256(data), size: data.length, content: { data } };
    const after = this.node(relPath);
    if (
      !sameFingerprint(fingerprintOf(before), expected) ||
      after?.kind !== 'file' ||
      !sameFingerprint(fingerprintOf(after), expected)
    ) {
      return { status: 'changed' };
    }
    return { status: 'ok', hash: sha256(data), size: data.length, content: { data } };
  }

  async watch(sink: WatchSink, options: WatchOptions): Promise<TreeWatch> {
    await Promise.resolve();
    const entry = { sink, options };
    this.sinks.push(entry);
    const owned = new Set<Subscription>([this.subscribe('')]);
    return {
      watchSubtree: async (dir) => {
        if (this.node(dir)?.kind !== 'dir') return false;
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

  // ---- what a user does; each returns false where the POSIX call fails ----

  mkdir(relPath: string, mode = 0o755, options: { racing?: boolean } = {}): boolean {
    if (!this.parentIsDir(relPath) || this.node(relPath) !== undefined) return false;
    this.add(
      relPath,
      { kind: 'dir', ino: this.inode(), mode, ctimeMs: this.stamp() },
      'create',
      options.racing === true,
    );
    return true;
  }

  /** mkdir -p: the first new level is watched as its parent's watcher sees it; deeper ones race it. */
  mkdirs(relPath: string, mode = 0o755): boolean {
    let created = 0;
    for (const dir of [...ancestors(relPath), relPath]) {
      const node = this.node(dir);
      if (node?.kind === 'dir') continue;
      if (node !== undefined) return false;
      this.mkdir(dir, dir === relPath ? mode : 0o755, { racing: created++ > 0 });
    }
    return true;
  }

  writeFile(relPath: string, content: string | Buffer, mode = 0o644): boolean {
    const node = this.node(relPath);
    if (!this.parentIsDir(relPath) || (node !== undefined && node.kind !== 'file')) return false;
    const bytes = Buffer.from(content);
    if (node?.kind === 'file') {
      Object.assign(node, { content: bytes, mtimeMs: this.now(), ctimeMs: this.stamp() });
      this.emit(relPath, 'update');
    } else {
      this.add(
        relPath,
        { kind: 'file', ino: this.inode(), mode, content: bytes, mtimeMs: this.now(), ctimeMs: this.stamp() },
        'create',
      );
    }
    return true;
  }

  append(relPath: string, content: string | Buffer): boolean {
    const node = this.node(relPath);
    if (node?.kind !== 'file') return false;
    return this.writeFile(relPath, Buffer.concat([node.content, Buffer.from(content)]));
  }

  utimes(relPath: string, mtimeMs: number): boolean {
    const node = this.node(relPath);
    if (node?.kind !== 'file') return false;
    Object.assign(node, { mtimeMs, ctimeMs: this.stamp() });
    this.emit(relPath, 'update');
    return true;
  }

  chmod(relPath: string, mode: number): boolean {
    const node = this.node(relPath);
    if (node?.kind !== 'file' && node?.kind !== 'dir') return false;
    Object.assign(node, { mode, ctimeMs: this.stamp() });
    this.emit(relPath, 'update');
    return true;
  }

  /** Makes an entry unreadable (as chmod 000 does for another user), or readable again. */
  setUnreadable(relPath: string, unreadable: boolean): boolean {
    const node = this.node(relPath);
    if (node === undefined) return false;
    Object.assign(node, { unreadable, ctimeMs: this.stamp() });
    this.emit(relPath, 'update');
    return true;
  }

  symlink(relPath: string, target: string | Buffer): boolean {
    if (!this.parentIsDir(relPath) || this.node(relPath) !== undefined) return false;
    this.add(
      relPath,
      { kind: 'symlink', ino: this.inode(), target: Buffer.from(target), ctimeMs: this.stamp() },
      'create',
    );
    return true;
  }

  mkfifo(relPath: string): boolean {
    if (!this.parentIsDir(relPath) || this.node(relPath) !== undefined) return false;
    this.add(relPath, { kind: 'special', ino: this.inode(), ctimeMs: this.stamp() }, 'create');
    return true;
  }

  /** rm -rf */
  remove(relPath: string): boolean {
    if (this.node(relPath) === undefined || relPath === '') return false;
    this.detach(relPath);
    this.emit(relPath, 'delete');
    return true;
  }

  /** rename(2): onto nothing, a non-directory onto a non-directory, or a directory onto an empty directory. */
  rename(from: string, to: string): boolean {
    const node = this.node(from);
    if (node === undefined || from === '' || from === to || isBelow(to, from) || !this.parentIsDir(to)) return false;
    const existing = this.node(to);
    if (existing !== undefined) {
      const bothDirs = node.kind === 'dir' && existing.kind === 'dir' && this.childNames(to).length === 0;
      const bothNonDirs = node.kind !== 'dir' && existing.kind !== 'dir';
      if (!bothDirs && !bothNonDirs) return false;
      this.detach(to);
    }
    const moved = this.below(from).map((p) => [to + p.slice(from.length), this.nodes.get(p)!] as const);
    for (const p of this.below(from)) this.nodes.delete(p);
    this.nodes.delete(from);
    this.touchParent(from);
    this.nodes.set(to, node);
    for (const [p, n] of moved) this.nodes.set(p, n);
    node.ctimeMs = this.stamp();
    this.touchParent(to);
    this.emit(from, 'delete', { keepWatches: true });
    this.emit(to, 'create');
    return true;
  }

  // ---- what the test checks ----

  /** Every mirrorable entry as the convergence check compares it. */
  snapshot(): Map<string, EntryState> {
    const result = new Map<string, EntryState>();
    for (const [path, node] of this.nodes) {
      if (node.kind === 'file') {
        result.set(path, {
          kind: 'file',
          size: node.content.length,
          mode: node.mode,
          mtimeMs: node.mtimeMs,
          hash: sha256(node.content),
        });
      } else if (node.kind === 'dir') {
        result.set(path, { kind: 'dir', mode: node.mode });
      } else if (node.kind === 'symlink') {
        const link = this.readlink(path);
        if (link.status === 'ok') result.set(path, { kind: 'symlink', target: link.target });
      }
    }
    return result;
  }

  paths(): string[] {
    return [...this.nodes.keys()].sort();
  }

  kindOf(relPath: string): MemoryNode['kind'] | undefined {
    return this.node(relPath)?.kind;
  }

  get subscriptionTotal(): number {
    return this.subscriptions.size;
  }

  // ---- inside ----

  private node(relPath: string): MemoryNode | undefined {
    return relPath === '' ? this.rootNode : this.nodes.get(relPath);
  }

  private stamp(): number {
    // Distinct for every change, like a nanosecond ctime: only ever compared for equality.
    return this.now() + ++this.changes / 1000; // steps a double near 1.7e12 can hold
  }

  private searchDenied(relPath: string): boolean {
    for (const dir of ancestors(relPath)) if (this.node(dir)?.unreadable === true) return true;
    return false;
  }

  private parentIsDir(relPath: string): boolean {
    return relPath !== '' && this.node(parentOf(relPath))?.kind === 'dir';
  }

  private childNames(dir: string): string[] {
    const start = dir === '' ? 0 : dir.length + 1;
    return [...this.nodes.keys()]
      .filter((p) => parentOf(p) === dir)
      .map((p) => p.slice(start))
      .sort();
  }

  private below(dir: string): string[] {
    return [...this.nodes.keys()].filter((p) => isBelow(p, dir));
  }

  private touchParent(relPath: string): void {
    this.node(parentOf(relPath))!.ctimeMs = this.stamp();
  }

  private add(relPath: string, node: MemoryNode, type: WatchHint['type'], racing = false): void {
    this.nodes.set(relPath, node);
    this.touchParent(relPath);
    this.emit(relPath, type);
    if (node.kind !== 'dir' || racing) return;
    // Each subscription watching the parent places a watch on the new directory.
    const parent = this.node(parentOf(relPath))!;
    for (const sub of this.subscriptions) {
      const at = sub.watches.get(parent.ino);
      if (at !== undefined) sub.watches.set(node.ino, joinRel(at, relPath.slice(relPath.lastIndexOf('/') + 1)));
    }
  }

  private detach(relPath: string): void {
    const gone = [relPath, ...this.below(relPath)];
    for (const p of gone) {
      const node = this.nodes.get(p)!;
      if (node.kind === 'dir') for (const sub of this.subscriptions) sub.watches.delete(node.ino);
      this.nodes.delete(p);
      this.freeInodes.push(node.ino);
    }
    this.touchParent(relPath);
  }

  private subscribe(root: string): Subscription {
    const sub: Subscription = { root, watches: new Map([[this.node(root)!.ino, root]]) };
    for (const p of this.below(root)) {
      const node = this.nodes.get(p)!;
      if (node.kind === 'dir') sub.watches.set(node.ino, p);
    }
    this.subscriptions.add(sub);
    return sub;
  }

  /** Reports a change of `relPath` through every subscription watching its parent, under the path it knows. */
  private emit(relPath: string, type: WatchHint['type'], _options: { keepWatches?: boolean } = {}): void {
    const parent = this.node(parentOf(relPath));
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
}

function ancestors(relPath: string): string[] {
  const parts = relPath.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
}

function fingerprintOf(node: MemoryNode): Fingerprint {
  const size = node.kind === 'file' ? node.content.length : 0;
  return { ino: node.ino, size, mtimeMs: node.kind === 'file' ? node.mtimeMs : 0, ctimeMs: node.ctimeMs };
}

function sameFingerprint(a: Fingerprint, b: Fingerprint): boolean {
  return a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}
