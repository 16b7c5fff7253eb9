// The producer's watcher port. What a backend reports are hints (a path may have
// changed); lstat and the index stay the truth. Backends: fanotify (one filesystem mark),
// inotify (watches placed by the producer's own walks) and @parcel/watcher (portable).
import type { WATCHER_CHOICES } from '../../../schemas/config.ts';
import type { Logger } from '../../shared/logger.ts';

export type WatcherChoice = (typeof WATCHER_CHOICES)[number];
export type WatcherBackend = Exclude<WatcherChoice, 'auto'>;

export type WatchHint = { path: string; type: 'create' | 'update' | 'delete' };

/** What a backend tells the producer. */
export type WatcherEvents = {
  onHints(hints: WatchHint[]): void;
  /** Events were lost (kernel queue overflow): the caller reconciles. */
  onOverflow(reason: string): void;
  /** The watcher lost track for another reason (a read failed): the caller reconciles. */
  onError(error: Error): void;
};

/** Counters a backend keeps for /metrics. */
export type WatcherStatus = {
  /** Watched directories (inotify watches, fanotify known directory handles, parcel subscriptions). */
  watched: number;
  /** Directories that could not be watched (inotify watch limit): checked on a timer instead. */
  unwatched: number;
  overflows: number;
};

export interface SourceWatcher {
  readonly backend: WatcherBackend;
  /** Starts reporting. Backends that mark or open at construction resolve at once. */
  start(): Promise<void>;
  /**
   * A walk (start-up, reconcile, a new directory's examination) is about to list
   * `relDir`: watch it first, so nothing created in it after the listing is missed.
   */
  beforeListing(relDir: string): void;
  /** A directory new to the index holds subdirectories (last changed at `changedAtMs`). */
  newSubtree(relDir: string, changedAtMs: number): void;
  status(): WatcherStatus;
  stop(): Promise<void>;
}

export type WatcherDeps = {
  root: string;
  exclude: readonly string[];
  isExcluded: (relPath: string) => boolean;
  events: WatcherEvents;
  logger: Logger;
};

/** Joins a directory's root-relative path and a name. */
export function childPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}
