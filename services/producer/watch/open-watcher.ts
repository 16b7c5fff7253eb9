// Which watcher backend runs, and why. `auto`: fanotify when the process has the
// capabilities and the kernel and filesystem support a filesystem mark with file handles,
// else mirrorlog's inotify, else (no native addon) @parcel/watcher. An explicit choice
// that cannot run is a final error naming the reason.
import fs from 'node:fs';
import { CliError } from '../../shared/errors.ts';
import { loadWatchNative, type WatchNative } from '../../shared/native/watch.ts';
import { readInotifyLimits } from '../adapters/inotify-limits.ts';
import { FanotifyWatcher } from './fanotify-watcher.ts';
import { WatcherUnavailableError } from './watcher-unavailable.ts';
import { InotifyWatcher } from './inotify-watcher.ts';
import { readMountPointsBelow } from './mounts.ts';
import { ParcelSourceWatcher } from './parcel-watcher.ts';
import type { SourceWatcher, WatcherChoice, WatcherDeps } from './source-watcher.ts';

/** A directory's names, or undefined when it cannot be listed (gone, not a directory, no access). */
function listNames(dir: string): string[] | undefined {
  try {
    return fs.readdirSync(dir);
  } catch {
    return undefined;
  }
}

export type OpenedWatcher = { watcher: SourceWatcher; reason: string };

export type OpenWatcherOptions = {
  /** The native addon (tests pass a fake); loaded on demand otherwise. */
  native?: () => WatchNative;
  mountPoints?: (root: string) => string[];
  openDirectory?: (path: string) => number;
  closeFd?: (fd: number) => void;
};

export function openSourceWatcher(
  choice: WatcherChoice,
  deps: WatcherDeps,
  options: OpenWatcherOptions = {},
): OpenedWatcher {
  const native = options.native ?? loadWatchNative;
  const mountPoints = options.mountPoints ?? readMountPointsBelow;
  const closeFd = options.closeFd ?? ((fd: number) => fs.closeSync(fd));
  const fanotify = () =>
    FanotifyWatcher.open(deps, {
      native: native(),
      mountPoints: mountPoints(deps.root),
      closeFd,
      openDirectory: options.openDirectory,
    });
  const inotify = () =>
    InotifyWatcher.open(deps, {
      native: native(),
      closeFd,
      listNames: (dir) => listNames(dir === '' ? deps.root : `${deps.root}/${dir}`),
      maxUserWatches: () => readInotifyLimits().maxUserWatches,
    });
  switch (choice) {
    case 'parcel':
      return { watcher: new ParcelSourceWatcher(deps), reason: 'chosen with --watcher parcel' };
    case 'fanotify':
      try {
        return { watcher: fanotify(), reason: 'chosen with --watcher fanotify' };
      } catch (error) {
        throw new CliError(`--watcher fanotify cannot run: ${(error as Error).message}`);
      }
    case 'inotify':
      try {
        return { watcher: inotify(), reason: 'chosen with --watcher inotify' };
      } catch (error) {
        throw new CliError(`--watcher inotify cannot run: ${(error as Error).message}`);
      }
    case 'auto': {
      let why: string;
      try {
        return {
          watcher: fanotify(),
          reason: 'auto: fanotify filesystem mark available (capabilities, kernel and filesystem support it)',
        };
      } catch (error) {
        if (
          !(error instanceof WatcherUnavailableError) &&
          !(error as Error).message.includes('native watcher is not built')
        )
          throw error;
        why = (error as Error).message;
      }
      try {
        return { watcher: inotify(), reason: `auto: inotify, since ${why}` };
      } catch (error) {
        return {
          watcher: new ParcelSourceWatcher(deps),
          reason: `auto: @parcel/watcher, since ${why}; and inotify: ${(error as Error).message}`,
        };
      }
    }
  }
}
