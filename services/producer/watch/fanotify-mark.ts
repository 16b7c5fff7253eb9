// Setting up the fanotify backend (fanotify-watcher.ts): one filesystem mark on the
// filesystem that holds the root, with the newest event reporting this kernel offers,
// or the reason it cannot be had here.
import fs from 'node:fs';
import type { WatchNative } from '../../shared/native/watch.ts';
import { FAN, FAN_REPORT_DFID_NAME, handleKey } from './fanotify-events.ts';
import type { WatcherDeps } from './source-watcher.ts';
import { WatcherUnavailableError } from './watcher-unavailable.ts';

const CHANGE_MASK = FAN.CREATE | FAN.DELETE | FAN.MODIFY | FAN.ATTRIB | FAN.CLOSE_WRITE | FAN.ONDIR;

export type FanotifyFeatures = { targetFid: boolean; rename: boolean };

export type FanotifyOptions = {
  native: WatchNative;
  /** Mount points below the root (see mounts.ts). */
  mountPoints: string[];
  openDirectory?: (path: string) => number;
  closeFd?: (fd: number) => void;
};

/** A placed mark: the fanotify descriptor, the root's directory (for open_by_handle_at) and its handle's key. */
export type FanotifyMark = {
  readonly fd: number;
  readonly mountFd: number;
  readonly rootKey: string;
  readonly features: FanotifyFeatures;
  readonly closeFd: (fd: number) => void;
};

export function errorCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? '';
}

/** Places the filesystem mark (events are queued from here on) or says why it cannot. */
export function placeFanotifyMark(deps: WatcherDeps, options: FanotifyOptions): FanotifyMark {
  const { native } = options;
  const closeFd = options.closeFd ?? ((fd: number) => fs.closeSync(fd));
  const below = options.mountPoints.filter((mount) => !deps.isExcluded(mount.slice(deps.root.length + 1)));
  if (below.length > 0) {
    throw new WatcherUnavailableError(
      `--root ${deps.root} spans several filesystems (mount points below it: ` +
        `${below.slice(0, 5).join(', ')}${below.length > 5 ? ', …' : ''}); ` +
        'a fanotify filesystem mark sees only one: use --watcher inotify, or --exclude them',
    );
  }
  const base = FAN.CLOEXEC | FAN.NONBLOCK | FAN.REPORT_FID | FAN_REPORT_DFID_NAME;
  let fd: number;
  let targetFid = true;
  try {
    try {
      fd = native.fanotifyInit(base | FAN.REPORT_TARGET_FID, 0);
    } catch (error) {
      if (errorCode(error) !== 'EINVAL') throw error;
      targetFid = false; // before Linux 5.17
      fd = native.fanotifyInit(base, 0);
    }
  } catch (error) {
    const code = errorCode(error);
    if (code === 'EPERM')
      throw new WatcherUnavailableError('fanotify needs CAP_SYS_ADMIN (and CAP_DAC_READ_SEARCH); this process has not');
    if (code === 'EINVAL' || code === 'ENOSYS')
      throw new WatcherUnavailableError('fanotify with FAN_REPORT_DFID_NAME needs Linux 5.9 or later');
    throw new WatcherUnavailableError(`fanotify_init failed: ${(error as Error).message}`);
  }
  const release: number[] = [fd];
  try {
    const rootPath = Buffer.from(deps.root);
    let rename = targetFid;
    try {
      native.fanotifyMark(
        fd,
        FAN.MARK_ADD | FAN.MARK_FILESYSTEM,
        CHANGE_MASK | (rename ? FAN.RENAME : FAN.MOVED_FROM | FAN.MOVED_TO),
        rootPath,
      );
    } catch (error) {
      if (!rename || errorCode(error) !== 'EINVAL') throw error;
      rename = false;
      native.fanotifyMark(
        fd,
        FAN.MARK_ADD | FAN.MARK_FILESYSTEM,
        CHANGE_MASK | FAN.MOVED_FROM | FAN.MOVED_TO,
        rootPath,
      );
    }
    const rootHandle = native.nameToHandle(rootPath);
    const mountFd = (
      options.openDirectory ?? ((p: string) => fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_DIRECTORY))
    )(deps.root);
    release.push(mountFd);
    try {
      native.openByHandle(mountFd, rootHandle);
    } catch (error) {
      if (errorCode(error) === 'EPERM') {
        throw new WatcherUnavailableError(
          'fanotify needs CAP_DAC_READ_SEARCH to turn file handles into paths (open_by_handle_at); ' +
            'this process has not',
        );
      }
      throw error;
    }
    return { fd, mountFd, rootKey: handleKey(rootHandle), features: { targetFid, rename }, closeFd };
  } catch (error) {
    for (const open of release) closeFd(open);
    if (error instanceof WatcherUnavailableError) throw error;
    throw new WatcherUnavailableError(
      `the filesystem of --root ${deps.root} cannot take a fanotify filesystem mark with file handles: ` +
        (error as Error).message,
    );
  }
}
