// An in-memory stand-in for the native watch addon: a table of directories (path <->
// file handle, path <-> watch descriptor) that a test moves around like the kernel
// would, and the calls the watcher made. Events are fed to the watcher's `consume`.
import type { EventReader, WatchNative } from '../../services/shared/native/watch.ts';
import type { Logger } from '../../services/shared/logger.ts';
import { handleKey } from '../../services/producer/watch/fanotify-events.ts';
import type { WatcherDeps, WatchHint } from '../../services/producer/watch/source-watcher.ts';

function errno(code: string): Error {
  return Object.assign(new Error(`${code} (fake)`), { code });
}

/** A fake struct file_handle: 8 handle bytes holding `id`. */
export function fakeHandle(id: number): Buffer {
  const handle = Buffer.alloc(16);
  handle.writeUInt32LE(8, 0);
  handle.writeInt32LE(1, 4);
  handle.writeUInt32LE(id, 8);
  return handle;
}

export class FakeWatchNative implements WatchNative {
  readonly calls: string[] = [];
  /** Directory path -> handle id (its inode, as it were). */
  readonly dirs = new Map<string, number>();
  private nextId = 1;
  initError: ((flags: number) => string | undefined) | undefined;
  markError: ((mask: number) => string | undefined) | undefined;
  openByHandleError: string | undefined;
  /** inotify: watches at most this many (then ENOSPC). */
  watchLimit = Number.POSITIVE_INFINITY;
  readonly watches = new Map<number, number>(); // handle id -> wd

  mkdir(path: string): number {
    const id = this.nextId++;
    this.dirs.set(path, id);
    return id;
  }

  /** Moves a directory and everything below it (as rename(2) would). */
  rename(from: string, to: string): void {
    for (const [path, id] of [...this.dirs]) {
      if (path === from || path.startsWith(`${from}/`)) {
        this.dirs.delete(path);
        this.dirs.set(to + path.slice(from.length), id);
      }
    }
  }

  rmdir(path: string): void {
    this.dirs.delete(path);
  }

  key(path: string): string {
    const id = this.dirs.get(path);
    if (id === undefined) throw new Error(`no such fake directory ${path}`);
    return handleKey(fakeHandle(id));
  }

  wd(path: string): number {
    const id = this.dirs.get(path);
    const wd = id === undefined ? undefined : this.watches.get(id);
    if (wd === undefined) throw new Error(`no watch on ${path}`);
    return wd;
  }

  fanotifyInit(flags: number): number {
    this.calls.push(`fanotifyInit ${flags.toString(16)}`);
    const error = this.initError?.(flags);
    if (error !== undefined) throw errno(error);
    return 100;
  }

  fanotifyMark(_fd: number, _flags: number, mask: number): void {
    this.calls.push(`fanotifyMark ${mask.toString(16)}`);
    const error = this.markError?.(mask);
    if (error !== undefined) throw errno(error);
  }

  /** Handle ids given an ignore mask, in order; cleared by a flush. */
  readonly ignored: number[] = [];
  ignoreError: string | undefined;

  fanotifyIgnore(_fd: number, _mountFd: number, handle: Buffer, flags: number, mask: number): void {
    this.calls.push(`fanotifyIgnore ${handle.readUInt32LE(8)} ${flags.toString(16)} ${mask.toString(16)}`);
    if (this.ignoreError !== undefined) throw errno(this.ignoreError);
    this.ignored.push(handle.readUInt32LE(8));
  }

  fanotifyFlushInodeMarks(): void {
    this.calls.push('fanotifyFlushInodeMarks');
    this.ignored.length = 0;
  }

  inotifyInit(): number {
    return 200;
  }

  inotifyAddWatch(_fd: number, path: Buffer): number {
    const abs = path.toString();
    this.calls.push(`addWatch ${abs}`);
    const id = this.dirs.get(abs);
    if (id === undefined) throw errno('ENOENT');
    const known = this.watches.get(id);
    if (known !== undefined) return known;
    if (this.watches.size >= this.watchLimit) throw errno('ENOSPC');
    const wd = this.watches.size + 1;
    this.watches.set(id, wd);
    return wd;
  }

  inotifyRmWatch(_fd: number, wd: number): number {
    this.calls.push(`rmWatch ${wd}`);
    for (const [id, known] of this.watches) if (known === wd) this.watches.delete(id);
    return 0;
  }

  nameToHandle(path: Buffer): Buffer {
    const id = this.dirs.get(path.toString());
    if (id === undefined) throw errno('ENOENT');
    return fakeHandle(id);
  }

  openByHandle(_mountFd: number, handle: Buffer): Buffer {
    const id = handle.readUInt32LE(8);
    this.calls.push(`openByHandle ${id}`);
    if (this.openByHandleError !== undefined) throw errno(this.openByHandleError);
    for (const [path, known] of this.dirs) if (known === id) return Buffer.from(path);
    throw errno('ESTALE');
  }

  startReading(): EventReader {
    return {} as EventReader;
  }

  stopReading(): void {}

  scanDirectory(): never {
    throw new Error('scanDirectory is not faked: the walk tests use the real addon');
  }

  scanDirectoryAsync(): never {
    throw new Error('scanDirectoryAsync is not faked: the walk tests use the real addon');
  }
}

export type RecordedEvents = { hints: WatchHint[]; overflows: string[]; errors: Error[]; warnings: string[] };

/** Watcher deps that record what the watcher reports. */
export function recordingDeps(
  root: string,
  isExcluded: (rel: string) => boolean = () => false,
): { deps: WatcherDeps; seen: RecordedEvents } {
  const seen: RecordedEvents = { hints: [], overflows: [], errors: [], warnings: [] };
  const logger = {
    warn: (_object: unknown, message?: string) => void seen.warnings.push(message ?? String(_object)),
    info: () => undefined,
    debug: () => undefined,
  } as unknown as Logger;
  return {
    seen,
    deps: {
      root,
      exclude: [],
      isExcluded,
      logger,
      events: {
        onHints: (hints) => void seen.hints.push(...hints),
        onOverflow: (reason) => void seen.overflows.push(reason),
        onError: (error) => void seen.errors.push(error),
      },
    },
  };
}

/** `path type` strings of the hints, for compact assertions. */
export function hintLines(hints: WatchHint[]): string[] {
  return hints.map((hint) => `${hint.path} ${hint.type}`);
}
