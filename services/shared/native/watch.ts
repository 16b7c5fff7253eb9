// Loads the `watch` target of native/binding.gyp (built by `npm ci`): the fanotify and
// inotify syscalls, file handles, and a non-blocking reader of an event fd. Loaded on
// first use, so a machine without it can still run the portable watcher.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

/** An event fd being read from the event loop. */
export type EventReader = { readonly __reader: unique symbol };

export type ScanResult = { names: Buffer; stats: Float64Array };

/** Errors carry the errno name in `code` (EPERM, ENOSPC, EINVAL…). Paths are byte strings. */
export interface WatchNative {
  fanotifyInit(flags: number, eventFFlags: number): number;
  fanotifyMark(fd: number, flags: number, mask: number, path: Buffer): void;
  inotifyInit(): number;
  inotifyAddWatch(fd: number, path: Buffer, mask: number): number;
  /** 0, or the errno (the kernel drops the watch of a removed directory by itself). */
  inotifyRmWatch(fd: number, wd: number): number;
  /** A struct file_handle (handle_bytes, handle_type, f_handle): fanotify's fid layout. */
  nameToHandle(path: Buffer): Buffer;
  /** The path the kernel knows for a handle now; throws ESTALE when it is gone. */
  openByHandle(mountFd: number, handle: Buffer): Buffer;
  /** fanotify_mark of the directory a handle names (through an fd, never a path): an ignore mask. */
  fanotifyIgnore(fanotifyFd: number, mountFd: number, handle: Buffer, flags: number, mask: number): void;
  /** Removes the group's inode marks (its ignore marks); the filesystem mark stays. */
  fanotifyFlushInodeMarks(fanotifyFd: number): void;
  /**
   * Reads the fd on a thread of its own, queueing up to `maxQueuedBytes` while the loop is
   * busy; calls back on the loop with each read's bytes, or with null and a reason when
   * the fd fails.
   */
  startReading(fd: number, maxQueuedBytes: number, onData: (data: Buffer | null, error?: string) => void): EventReader;
  stopReading(reader: EventReader): void;
  /**
   * A directory's names (NUL-separated bytes) and per name SCAN_FIELDS numbers from one
   * lstat each (see native/watch/scan.c). null when it is not a directory any more.
   */
  scanDirectory(path: Buffer): ScanResult | null;
  /** The same scan on libuv's pool: the walk's syscalls run beside its work on the main thread. */
  scanDirectoryAsync(path: Buffer): Promise<ScanResult | null>;
}

// From services/shared/native/ in a checkout, from dist/services/shared/native/ when compiled.
const CANDIDATES = ['../../../native/build/Release/watch.node', '../../../../native/build/Release/watch.node'].map(
  (relative) => fileURLToPath(new URL(relative, import.meta.url)),
);
/** Numbers per name in a scanDirectory result. */
export const SCAN_FIELDS = 12;
/** Events read but not yet handed to JavaScript, at most (then the kernel's queue fills and overflows). */
export const MAX_QUEUED_EVENT_BYTES = 64 * 1024 * 1024;
let loaded: WatchNative | undefined;

export function loadWatchNative(): WatchNative {
  if (loaded !== undefined) return loaded;
  const ADDON = CANDIDATES.find((candidate) => existsSync(candidate)) ?? CANDIDATES[0]!;
  try {
    loaded = createRequire(import.meta.url)(ADDON) as WatchNative;
  } catch (error) {
    throw new Error(
      `the native watcher is not built (${ADDON}): run 'npm ci' or 'npx node-gyp rebuild -C native' ` +
        `(${(error as Error).message})`,
    );
  }
  return loaded;
}
