// The fanotify backend: one filesystem mark on the filesystem that holds the root, no
// watch per directory and no crawl. Events name a directory by its file handle; the
// handles of the root's directories are learnt from the producer's own walks and from
// the event stream itself (a created or moved directory's handle comes with its event),
// so filtering to the root is a map lookup. A handle not known yet is asked of the
// kernel once (open_by_handle_at) and remembered inside or outside the root. The mark
// itself is placed by fanotify-mark.ts.
import { bytesOfName, nameFromBytes } from '../../../schemas/name-bytes.ts';
import type { EventReader, WatchNative } from '../../shared/native/watch.ts';
import { DirectoryTree, type DirNode } from './directory-tree.ts';
import { readEventStream } from './event-stream.ts';
import { FAN, handleFromKey, handleKey, parseFanotifyEvents, type FanotifyEvent } from './fanotify-events.ts';
import { OutsideIgnores } from './fanotify-ignores.ts';
import { placeFanotifyMark, type FanotifyFeatures, type FanotifyOptions } from './fanotify-mark.ts';
import {
  childPath,
  type SourceWatcher,
  type WatcherDeps,
  type WatcherStatus,
  type WatchHint,
} from './source-watcher.ts';

/** Handles seen outside the root (or gone): bounded, forgotten when full. */
const MAX_OUTSIDE = 100_000;
const DELETED_SUFFIX = ' (deleted)';

type Resolved = { path: string; node: DirNode<string> | undefined };

export class FanotifyWatcher implements SourceWatcher {
  readonly backend = 'fanotify' as const;
  private readonly tree = new DirectoryTree<string>();
  private readonly outside = new Set<string>();
  private readonly ignores: OutsideIgnores;
  private reader: EventReader | undefined;
  private overflows = 0;
  private stopped = false;
  private readonly prefix: string;

  private constructor(
    private readonly deps: WatcherDeps,
    private readonly native: WatchNative,
    private readonly fd: number,
    private readonly mountFd: number,
    readonly features: FanotifyFeatures,
    private readonly closeFd: (fd: number) => void,
  ) {
    this.prefix = deps.root.endsWith('/') ? deps.root : `${deps.root}/`;
    this.ignores = new OutsideIgnores(native, fd, mountFd, this.prefix.slice(0, -1), deps.logger);
  }

  /** Places the filesystem mark (events are queued from here on) or says why it cannot. */
  static open(deps: WatcherDeps, options: FanotifyOptions): FanotifyWatcher {
    const { fd, mountFd, rootKey, features, closeFd } = placeFanotifyMark(deps, options);
    const watcher = new FanotifyWatcher(deps, options.native, fd, mountFd, features, closeFd);
    watcher.tree.setRoot(rootKey);
    return watcher;
  }

  start(): Promise<void> {
    this.reader = readEventStream(this.native, this.fd, 'fanotify', {
      isStopped: () => this.stopped,
      events: this.deps.events,
      parse: parseFanotifyEvents,
      consume: (events) => this.consume(events),
    });
    return Promise.resolve();
  }

  /** Interprets events in stream order: directory moves are applied before later events resolve. */
  consume(events: FanotifyEvent[]): void {
    const hints: WatchHint[] = [];
    for (const event of events) this.interpret(event, hints);
    if (hints.length > 0) this.deps.events.onHints(hints);
  }

  beforeListing(relDir: string): void {
    if (this.deps.isExcluded(relDir) && relDir !== '') return;
    let key: string;
    try {
      key = handleKey(this.native.nameToHandle(bytesOfName(this.absolute(relDir))));
    } catch {
      return; // gone again: its parent's event says so
    }
    const known = this.tree.get(key);
    if (known !== undefined && this.tree.pathOf(known) === relDir) return;
    if (this.tree.attachAt(relDir, key) === undefined) this.register(relDir, key);
  }

  newSubtree(): void {
    // One mark covers every directory: nothing to add.
  }

  status(): WatcherStatus {
    return { watched: this.tree.size, unwatched: 0, overflows: this.overflows };
  }

  /** Directories outside the root whose events the kernel drops for this group. */
  get ignoredDirectories(): number {
    return this.ignores.size;
  }

  stop(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.stopped = true;
    if (this.reader !== undefined) this.native.stopReading(this.reader);
    this.closeFd(this.fd);
    this.closeFd(this.mountFd);
    return Promise.resolve();
  }

  private interpret(event: FanotifyEvent, hints: WatchHint[]): void {
    const { mask } = event;
    if (mask & FAN.Q_OVERFLOW) {
      this.overflows++;
      this.deps.events.onOverflow('fanotify event queue overflow');
      return;
    }
    const isDir = (mask & FAN.ONDIR) !== 0;
    if (event.from !== undefined && event.to !== undefined) {
      const from = this.resolveDir(event.from.dir);
      const to = this.resolveDir(event.to.dir);
      if (isDir) this.moveDirectory(event.object, from?.node, event.from.name, to?.node, event.to.name);
      if (from !== undefined) this.hint(hints, childPath(from.path, event.from.name), 'delete');
      if (to !== undefined) this.hint(hints, childPath(to.path, event.to.name), 'create');
      return;
    }
    const entry = event.entry;
    if (entry === undefined) return;
    const dir = this.resolveDir(entry.dir);
    if (isDir && mask & FAN.MOVED_TO) this.moveDirectory(event.object, undefined, '', dir?.node, entry.name);
    if (dir === undefined) return;
    if (entry.name === '.') {
      // An event on the directory itself (its mode, times): the root's own are not mirrored.
      if (dir.path !== '') this.hint(hints, dir.path, 'update');
      return;
    }
    if (isDir && dir.node !== undefined) {
      if (mask & FAN.CREATE && event.object !== undefined) this.tree.attach(event.object, dir.node, entry.name);
      if (mask & (FAN.DELETE | FAN.MOVED_FROM)) {
        const child =
          event.object !== undefined ? this.tree.get(event.object) : this.tree.childOf(dir.node, entry.name);
        // A move's MOVED_TO places the directory again (it carries its handle); without one, resolve anew later.
        if (child !== undefined && (mask & FAN.DELETE || event.object === undefined)) this.tree.detach(child);
      }
    }
    const type =
      mask & (FAN.CREATE | FAN.MOVED_TO) ? 'create' : mask & (FAN.DELETE | FAN.MOVED_FROM) ? 'delete' : 'update';
    this.hint(hints, childPath(dir.path, entry.name), type);
  }

  /** A directory moved: placed at its new name, or dropped when it left the root. */
  private moveDirectory(
    object: string | undefined,
    fromDir: DirNode<string> | undefined,
    fromName: string,
    toDir: DirNode<string> | undefined,
    toName: string,
  ): void {
    const node =
      object !== undefined
        ? this.tree.get(object)
        : fromDir !== undefined
          ? this.tree.childOf(fromDir, fromName)
          : undefined;
    if (toDir !== undefined) {
      const key = node?.key ?? object;
      if (key !== undefined) this.tree.attach(key, toDir, toName);
      // Moved in from outside: what is below it may have been seen outside before, and ignored.
      if (node === undefined) {
        this.deps.logger.debug({ dir: this.tree.pathOf(toDir), name: toName }, 'a directory moved in from outside');
        this.outside.clear();
        this.ignores.clear();
      }
    } else if (node !== undefined) {
      this.tree.detach(node);
    }
  }

  private hint(hints: WatchHint[], path: string, type: WatchHint['type']): void {
    if (!this.deps.isExcluded(path)) hints.push({ path, type });
  }

  /** The root-relative path of a directory handle, or undefined when it is outside the root or gone. */
  private resolveDir(key: string): Resolved | undefined {
    const node = this.tree.get(key);
    if (node !== undefined) {
      const path = this.tree.pathOf(node);
      if (path !== undefined) return this.deps.isExcluded(path) && path !== '' ? undefined : { path, node };
      this.tree.detach(node);
    }
    if (this.outside.has(key)) return undefined;
    const abs = this.lookUp(key);
    const path = abs === undefined ? undefined : this.relative(abs);
    if (path === undefined || (path !== '' && this.deps.isExcluded(path))) {
      if (this.outside.size >= MAX_OUTSIDE) this.outside.clear();
      this.outside.add(key);
      if (abs !== undefined) this.ignores.ignore(key, abs);
      return undefined;
    }
    return { path, node: this.register(path, key) };
  }

  /** Asks the kernel where a handle is now; undefined when it is gone. */
  private lookUp(key: string): string | undefined {
    let abs: string;
    try {
      abs = nameFromBytes(this.native.openByHandle(this.mountFd, handleFromKey(key)));
    } catch {
      return undefined; // ESTALE: gone
    }
    return abs.endsWith(DELETED_SUFFIX) && !this.sameHandle(abs, key) ? undefined : abs;
  }

  private relative(abs: string): string | undefined {
    if (abs === this.deps.root) return '';
    return abs.startsWith(this.prefix) ? abs.slice(this.prefix.length) : undefined;
  }

  private sameHandle(abs: string, key: string): boolean {
    try {
      return handleKey(this.native.nameToHandle(bytesOfName(abs))) === key;
    } catch {
      return false;
    }
  }

  /** Places `key` at `relDir`, learning the handles of unknown directories on the way. */
  private register(relDir: string, key: string): DirNode<string> | undefined {
    let node = this.tree.root;
    let walked = '';
    for (const name of relDir.split('/')) {
      if (node === undefined) return undefined;
      walked = childPath(walked, name);
      let child = this.tree.childOf(node, name);
      if (walked === relDir) {
        child = this.tree.attach(key, node, name);
      } else if (child === undefined) {
        try {
          child = this.tree.attach(handleKey(this.native.nameToHandle(bytesOfName(this.absolute(walked)))), node, name);
        } catch {
          return undefined;
        }
      }
      node = child;
    }
    return node;
  }

  private absolute(relDir: string): string {
    return relDir === '' ? this.deps.root : this.prefix + relDir;
  }
}
