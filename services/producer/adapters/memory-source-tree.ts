// The source tree in memory, for the model test and unit tests: the same contract as the
// local filesystem (test/helpers/source-tree-contract.ts), plus the operations a user
// performs (each failing where its POSIX call fails). Its watcher (memory-watches.ts)
// behaves like an inode-based recursive watcher; a directory created while its parent is
// being populated (`mkdir -p`, flagged `racing`) is not watched at all. What the channel
// then loses, the test decides (test/model/lossy-watcher.ts).
import { isBelow, joinRel } from '../../../schemas/rel-path.ts';
import type { EntryState } from '../../../schemas/event.ts';
import { sameFingerprint, type Fingerprint } from '../domain/diff.ts';
import type {
  AttributeRead,
  LinkRead,
  Listing,
  Probe,
  ReadOptions,
  ReadResult,
  Scan,
  SourceTree,
  TreeWatch,
  WatchHint,
  WatchOptions,
  WatchSink,
} from '../ports/source-tree.ts';
import {
  ancestors,
  attributesOfNode,
  fingerprintOf,
  linkTarget,
  MemoryNodes,
  probeOf,
  setNodeXattr,
  stateOf,
  type MemoryNode,
} from './memory-nodes.ts';
import { sha256Hex } from '../../shared/content-store.ts';
import type { AttributeScope } from '../../shared/attributes.ts';
import { MemoryWatches } from './memory-watches.ts';
import { scanByLstat } from './scan-by-lstat.ts';

export class MemorySourceTree implements SourceTree {
  private readonly nodes: MemoryNodes;
  private readonly watches: MemoryWatches;
  /** Called in the middle of every read: a test makes a file change while it is read. */
  duringRead: ((relPath: string) => void) | undefined;

  /** `owners`: every entry has one (root's until chowned), as lstat tells; without, none is told and chown fails. */
  constructor(
    private readonly now: () => number = () => 1_700_000_000_000,
    private readonly options: { owners?: boolean } = {},
  ) {
    this.nodes = new MemoryNodes(now);
    this.watches = new MemoryWatches(this.nodes);
  }

  // ---- the port ----

  lstat(relPath: string): Probe {
    const node = this.nodes.node(relPath);
    if (node === undefined) return { kind: 'missing' };
    if (this.nodes.searchDenied(relPath)) return { kind: 'unreadable', code: 'EACCES' };
    return probeOf(node, this.options.owners === true);
  }

  readdir(relDir: string): Listing {
    const node = this.nodes.node(relDir);
    if (node?.kind !== 'dir') return { status: 'missing' };
    if (node.unreadable === true) return { status: 'unreadable', code: 'EACCES' };
    const entries = this.nodes
      .childNames(relDir)
      .map((name) => ({ name, kind: this.nodes.node(joinRel(relDir, name))!.kind }));
    return { status: 'ok', entries };
  }

  scan = (relDir: string): Scan => scanByLstat(this, relDir);
  scanAsync = (relDir: string): Promise<Scan> => Promise.resolve(this.scan(relDir));

  readAttributes(relPath: string, scope: AttributeScope): AttributeRead | undefined {
    const node = this.nodes.node(relPath);
    return node === undefined || this.nodes.searchDenied(relPath) ? undefined : attributesOfNode(node, scope);
  }

  readlink(relPath: string): LinkRead {
    const node = this.nodes.node(relPath);
    if (node?.kind !== 'symlink') return { status: 'missing' };
    return { status: 'ok', target: linkTarget(node) };
  }

  async readFile(relPath: string, expected: Fingerprint, options: ReadOptions = {}): Promise<ReadResult> {
    await Promise.resolve();
    const before = this.nodes.node(relPath);
    if (before?.kind !== 'file') return { status: 'missing' };
    if (before.unreadable === true || this.nodes.searchDenied(relPath)) return { status: 'unreadable', code: 'EACCES' };
    const data = Buffer.from(before.content);
    this.duringRead?.(relPath);
    const after = this.nodes.node(relPath);
    const atRest =
      sameFingerprint(fingerprintOf(before), expected) &&
      after?.kind === 'file' &&
      sameFingerprint(fingerprintOf(after), expected);
    if (options.snapshot !== true && !atRest) return { status: 'changed' };
    return { status: 'ok', hash: sha256Hex(data), size: data.length, content: { data } };
  }

  async watch(sink: WatchSink, options: WatchOptions): Promise<TreeWatch> {
    await Promise.resolve();
    return this.watches.watch(sink, options);
  }

  // ---- what a user does; each returns false where the POSIX call fails ----

  mkdir(relPath: string, mode = 0o755, options: { racing?: boolean } = {}): boolean {
    if (!this.isFree(relPath)) return false;
    this.add(
      relPath,
      { kind: 'dir', ino: this.nodes.inode(), mode, ctimeMs: this.nodes.stamp() },
      'create',
      options.racing === true,
    );
    return true;
  }

  /** mkdir -p: the first new level is watched as its parent's watcher sees it; deeper ones race it. */
  mkdirs(relPath: string, mode = 0o755): boolean {
    let created = 0;
    for (const dir of [...ancestors(relPath), relPath]) {
      const node = this.nodes.node(dir);
      if (node?.kind === 'dir') continue;
      if (node !== undefined) return false;
      this.mkdir(dir, dir === relPath ? mode : 0o755, { racing: created++ > 0 });
    }
    return true;
  }

  writeFile(relPath: string, content: string | Buffer, mode = 0o644): boolean {
    const node = this.nodes.node(relPath);
    if (!this.nodes.parentIsDir(relPath) || (node !== undefined && node.kind !== 'file')) return false;
    const bytes = Buffer.from(content);
    if (node?.kind === 'file') {
      Object.assign(node, { content: bytes, mtimeMs: this.now(), ctimeMs: this.nodes.stamp() });
      this.emit(relPath, 'update');
    } else {
      const file = { ino: this.nodes.inode(), mode, content: bytes, mtimeMs: this.now(), ctimeMs: this.nodes.stamp() };
      this.add(relPath, { kind: 'file', ...file }, 'create');
    }
    return true;
  }

  append(relPath: string, content: string | Buffer): boolean {
    const node = this.nodes.node(relPath);
    if (node?.kind !== 'file') return false;
    return this.writeFile(relPath, Buffer.concat([node.content, Buffer.from(content)]));
  }

  utimes(relPath: string, mtimeMs: number): boolean {
    const node = this.nodes.node(relPath);
    return node?.kind === 'file' && this.changed(relPath, node, { mtimeMs });
  }

  chmod(relPath: string, mode: number): boolean {
    const node = this.nodes.node(relPath);
    return (node?.kind === 'file' || node?.kind === 'dir') && this.changed(relPath, node, { mode });
  }

  /** lchown: any entry, a symlink itself included. */
  chown(relPath: string, uid: number, gid: number): boolean {
    const node = this.nodes.node(relPath);
    const may = node !== undefined && relPath !== '' && this.options.owners === true;
    return may && this.changed(relPath, node, { owner: { uid, gid } });
  }

  /** setxattr(2), or removexattr(2) when `value` is null (ACLs are system.posix_acl_*). */
  setXattr(relPath: string, name: string, value: Buffer | null): boolean {
    const node = this.nodes.node(relPath);
    return node !== undefined && setNodeXattr(node, name, value) && this.changed(relPath, node, {});
  }

  /** Makes an entry unreadable (as chmod 000 does for another user), or readable again. */
  setUnreadable(relPath: string, unreadable: boolean): boolean {
    const node = this.nodes.node(relPath);
    return node !== undefined && this.changed(relPath, node, { unreadable });
  }

  symlink(relPath: string, target: string | Buffer): boolean {
    if (!this.isFree(relPath)) return false;
    this.add(
      relPath,
      { kind: 'symlink', ino: this.nodes.inode(), target: Buffer.from(target), ctimeMs: this.nodes.stamp() },
      'create',
    );
    return true;
  }

  mkfifo(relPath: string): boolean {
    if (!this.isFree(relPath)) return false;
    this.add(relPath, { kind: 'special', ino: this.nodes.inode(), ctimeMs: this.nodes.stamp() }, 'create');
    return true;
  }

  /** rm -rf */
  remove(relPath: string): boolean {
    if (this.nodes.node(relPath) === undefined || relPath === '') return false;
    this.detach(relPath);
    this.emit(relPath, 'delete');
    return true;
  }

  /** rename(2): onto nothing, a non-directory onto a non-directory, or a directory onto an empty directory. */
  rename(from: string, to: string): boolean {
    const node = this.nodes.node(from);
    if (node === undefined || from === '' || from === to || isBelow(to, from) || !this.nodes.parentIsDir(to))
      return false;
    const existing = this.nodes.node(to);
    if (existing !== undefined) {
      const bothDirs = node.kind === 'dir' && existing.kind === 'dir' && this.nodes.childNames(to).length === 0;
      const bothNonDirs = node.kind !== 'dir' && existing.kind !== 'dir';
      if (!bothDirs && !bothNonDirs) return false;
      this.detach(to);
    }
    const moved = this.nodes.below(from).map((p) => [to + p.slice(from.length), this.nodes.node(p)!] as const);
    for (const p of this.nodes.below(from)) this.nodes.delete(p);
    this.nodes.delete(from);
    this.nodes.touchParent(from);
    this.nodes.set(to, node);
    for (const [p, n] of moved) this.nodes.set(p, n);
    node.ctimeMs = this.nodes.stamp();
    this.nodes.touchParent(to);
    this.emit(from, 'delete', { keepWatches: true });
    this.emit(to, 'create');
    return true;
  }

  // ---- what the test checks ----

  /** Every mirrorable entry as the convergence check compares it. */
  snapshot(): Map<string, EntryState> {
    const result = new Map<string, EntryState>();
    for (const [path, node] of this.nodes.entries()) {
      const state = stateOf(node, this.options.owners === true);
      if (state !== undefined) result.set(path, state);
    }
    return result;
  }

  paths(): string[] {
    return this.nodes.paths().sort();
  }

  kindOf(relPath: string): MemoryNode['kind'] | undefined {
    return this.nodes.node(relPath)?.kind;
  }

  get subscriptionTotal(): number {
    return this.watches.subscriptionTotal;
  }

  // ---- inside ----

  /** Whether an entry can be created at `relPath`: its parent is a directory and nothing is there. */
  private isFree(relPath: string): boolean {
    return this.nodes.parentIsDir(relPath) && this.nodes.node(relPath) === undefined;
  }

  private add(relPath: string, node: MemoryNode, type: WatchHint['type'], racing = false): void {
    this.nodes.set(relPath, node);
    this.nodes.touchParent(relPath);
    this.emit(relPath, type);
    if (node.kind !== 'dir' || racing) return;
    this.watches.dirAdded(relPath, node);
  }

  private detach(relPath: string): void {
    const gone = [relPath, ...this.nodes.below(relPath)];
    for (const p of gone) {
      const node = this.nodes.take(p);
      if (node.kind === 'dir') this.watches.dirRemoved(node);
    }
    this.nodes.touchParent(relPath);
  }

  /** A change of the entry's metadata: its ctime moves and its watchers hear of it. */
  private changed(relPath: string, node: MemoryNode, change: Record<string, unknown>): true {
    Object.assign(node, change, { ctimeMs: this.nodes.stamp() });
    this.emit(relPath, 'update');
    return true;
  }

  private emit(relPath: string, type: WatchHint['type'], options: { keepWatches?: boolean } = {}): void {
    this.watches.emit(relPath, type, options);
  }
}
