// mirrorlog's own inotify backend. Watches are placed by the producer's walks (the
// start-up walk that compares with the index, the examination of a new directory), each
// before its directory is listed, so nothing created in between is missed. A directory
// that appears is watched as soon as its event is read. Renames are paired by cookie and
// move the watch's node, so later events carry the new path. What cannot be watched
// (the watch limit) is counted, logged with the sysctl that fixes it, and checked on a
// timer instead; a queue overflow is reported for a reconcile.
import { bytesOfName } from '../../../schemas/name-bytes.ts';
import type { EventReader, WatchNative } from '../../shared/native/watch.ts';
import { DirectoryTree, type DirNode } from './directory-tree.ts';
import { readEventStream } from './event-stream.ts';
import { IN, parseInotifyEvents, type InotifyEvent } from './inotify-events.ts';
import {
  childPath,
  type SourceWatcher,
  type WatcherDeps,
  type WatcherStatus,
  type WatchHint,
} from './source-watcher.ts';

const WATCH_MASK =
  IN.CREATE |
  IN.DELETE |
  IN.MOVED_FROM |
  IN.MOVED_TO |
  IN.MODIFY |
  IN.ATTRIB |
  IN.CLOSE_WRITE |
  IN.ONLYDIR |
  IN.DONT_FOLLOW |
  IN.EXCL_UNLINK;

export type InotifyOptions = {
  native: WatchNative;
  /** Names in a directory, for the check of unwatched directories (source-fs listDir). */
  listNames: (relDir: string) => string[] | undefined;
  /** How often directories that could not be watched are checked (and watching them retried). */
  checkIntervalMs?: number;
  closeFd: (fd: number) => void;
  /** fs.inotify.max_user_watches now, for the message. */
  maxUserWatches?: () => number | undefined;
};

type PendingMove = { node: DirNode<number>; chunk: number };

export class InotifyWatcher implements SourceWatcher {
  readonly backend = 'inotify' as const;
  private readonly tree = new DirectoryTree<number>();
  /** Directories the kernel refused to watch, by path; their nodes carry negative keys. */
  private readonly unwatched = new Set<string>();
  private nextPlaceholder = -1;
  private readonly pendingMoves = new Map<number, PendingMove>();
  private chunk = 0;
  private overflows = 0;
  private reader: EventReader | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private limitLogged = false;
  private stopped = false;

  private constructor(
    private readonly deps: WatcherDeps,
    private readonly options: InotifyOptions,
    private readonly fd: number,
  ) {}

  static open(deps: WatcherDeps, options: InotifyOptions): InotifyWatcher {
    return new InotifyWatcher(deps, options, options.native.inotifyInit());
  }

  start(): Promise<void> {
    this.reader = readEventStream(this.options.native, this.fd, 'inotify', {
      isStopped: () => this.stopped,
      events: this.deps.events,
      parse: parseInotifyEvents,
      consume: (events) => this.consume(events),
    });
    this.checkTimer = setInterval(() => this.checkUnwatched(), this.options.checkIntervalMs ?? 30_000);
    this.checkTimer.unref();
    return Promise.resolve();
  }

  beforeListing(relDir: string): void {
    if (relDir !== '' && this.deps.isExcluded(relDir)) return;
    this.watch(relDir);
  }

  newSubtree(): void {
    // Every directory is watched before it is listed (beforeListing): nothing more to do.
  }

  status(): WatcherStatus {
    return { watched: this.tree.size - this.unwatched.size, unwatched: this.unwatched.size, overflows: this.overflows };
  }

  stop(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.stopped = true;
    clearInterval(this.checkTimer);
    if (this.reader !== undefined) this.options.native.stopReading(this.reader);
    this.options.closeFd(this.fd);
    return Promise.resolve();
  }

  /** Interprets one read's events in order, then forgets directories that moved out of the tree. */
  consume(events: InotifyEvent[]): void {
    this.chunk++;
    const hints: WatchHint[] = [];
    for (const event of events) this.interpret(event, hints);
    // A MOVED_TO follows its MOVED_FROM at once, possibly in the next read: older ones left the tree.
    for (const [cookie, pending] of this.pendingMoves) {
      if (pending.chunk >= this.chunk) continue;
      this.pendingMoves.delete(cookie);
      this.forget(pending.node);
    }
    if (hints.length > 0) this.deps.events.onHints(hints);
  }

  /** Watches a directory (again: the kernel returns the same descriptor for the same inode). */
  private watch(relDir: string): void {
    let wd: number;
    try {
      wd = this.options.native.inotifyAddWatch(this.fd, bytesOfName(this.absolute(relDir)), WATCH_MASK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return; // gone again: its parent's event says so
      this.markUnwatched(relDir, code === 'ENOSPC' ? 'limit' : (error as Error).message);
      return;
    }
    const known = this.tree.at(relDir);
    if (known !== undefined) {
      if (known.key !== wd) this.tree.rekey(known, wd);
    } else if (this.tree.attachAt(relDir, wd) === undefined) {
      // Its parent is not in the tree (a hinted directory whose parent was never walked).
      this.deps.logger.debug({ dir: relDir }, 'watched a directory whose parent is not known');
    }
    this.unwatched.delete(relDir);
  }

  private markUnwatched(relDir: string, why: string): void {
    const known = this.tree.at(relDir);
    if (known === undefined) this.tree.attachAt(relDir, this.nextPlaceholder--);
    else if (known.key >= 0) this.tree.rekey(known, this.nextPlaceholder--);
    this.unwatched.add(relDir);
    if (this.limitLogged) return;
    this.limitLogged = true;
    if (why === 'limit') {
      const limit = this.options.maxUserWatches?.();
      const wanted = Math.max((limit ?? 8192) * 2, this.tree.size * 2 + 1024);
      const seconds = Math.round((this.options.checkIntervalMs ?? 30_000) / 1000);
      this.deps.logger.warn(
        { dir: relDir, maxUserWatches: limit },
        `inotify watch limit reached: directories beyond it are not watched but checked every ${seconds} s ` +
          '(mirrorlog_producer_watcher_unwatched_directories). ' +
          `Raise it: sysctl -w fs.inotify.max_user_watches=${wanted} (persist in /etc/sysctl.d/90-mirrorlog.conf)`,
      );
    } else {
      this.deps.logger.warn(
        { dir: relDir, reason: why },
        'a directory cannot be watched: it is checked on a timer instead',
      );
    }
  }

  /** The targeted check of directories without a watch: retry the watch, hint what they hold. */
  checkUnwatched(): void {
    if (this.unwatched.size === 0) return;
    const hints: WatchHint[] = [];
    for (const dir of [...this.unwatched]) {
      this.watch(dir);
      const names = this.options.listNames(dir);
      if (names === undefined) {
        this.unwatched.delete(dir);
        const node = this.tree.at(dir);
        if (node !== undefined) this.tree.detach(node);
        if (dir !== '') hints.push({ path: dir, type: 'delete' });
        continue;
      }
      if (dir !== '') hints.push({ path: dir, type: 'update' });
      for (const name of names) {
        const path = childPath(dir, name);
        if (!this.deps.isExcluded(path)) hints.push({ path, type: 'update' });
      }
    }
    if (hints.length > 0) this.deps.events.onHints(hints);
  }

  private interpret(event: InotifyEvent, hints: WatchHint[]): void {
    const { mask } = event;
    if (mask & IN.Q_OVERFLOW) {
      this.overflows++;
      this.deps.events.onOverflow('inotify event queue overflow');
      return;
    }
    const node = this.tree.get(event.wd);
    if (node === undefined) return;
    if (mask & IN.IGNORED) {
      // The kernel dropped the watch (directory deleted, or its filesystem unmounted).
      this.tree.detach(node);
      return;
    }
    const dirPath = this.tree.pathOf(node);
    if (dirPath === undefined) return;
    if (event.name === '') {
      // About the directory itself: its mode or times (its parent reports deletes and moves).
      if (mask & IN.ATTRIB && dirPath !== '') this.hint(hints, dirPath, 'update');
      return;
    }
    const path = childPath(dirPath, event.name);
    if (this.deps.isExcluded(path)) return;
    const isDir = (mask & IN.ISDIR) !== 0;
    if (mask & IN.CREATE) {
      if (isDir) this.watch(path); // watched first; the examiner lists it when the hint's turn comes
      this.hint(hints, path, 'create');
    } else if (mask & IN.MOVED_FROM) {
      const child = isDir ? this.tree.childOf(node, event.name) : undefined;
      if (child !== undefined) this.pendingMoves.set(event.cookie, { node: child, chunk: this.chunk });
      this.hint(hints, path, 'delete');
    } else if (mask & IN.MOVED_TO) {
      if (isDir) {
        const pending = this.pendingMoves.get(event.cookie);
        this.pendingMoves.delete(event.cookie);
        if (pending !== undefined && this.tree.get(pending.node.key) === pending.node)
          this.tree.attach(pending.node.key, node, event.name);
        else this.watch(path); // moved in from outside the tree: its subdirectories get watched as it is examined
      }
      this.hint(hints, path, 'create');
    } else if (mask & IN.DELETE) {
      const child = isDir ? this.tree.childOf(node, event.name) : undefined;
      if (child !== undefined) this.forget(child);
      this.hint(hints, path, 'delete');
    } else {
      this.hint(hints, path, 'update');
    }
  }

  /** A directory left the tree: its watches go (a moved-out one would report under an old path). */
  private forget(node: DirNode<number>): void {
    const prefix = this.tree.pathOf(node);
    for (const key of this.tree.detach(node)) if (key >= 0) this.options.native.inotifyRmWatch(this.fd, key);
    if (prefix !== undefined)
      for (const dir of this.unwatched) if (dir === prefix || dir.startsWith(`${prefix}/`)) this.unwatched.delete(dir);
  }

  private hint(hints: WatchHint[], path: string, type: WatchHint['type']): void {
    hints.push({ path, type });
  }

  private absolute(relDir: string): string {
    return relDir === '' ? this.deps.root : `${this.deps.root}/${relDir}`;
  }
}
