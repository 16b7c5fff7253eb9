// Reading a kernel backend's event fd (fanotify, inotify) on the native reader's thread,
// shared by both backends.
import { MAX_QUEUED_EVENT_BYTES, type EventReader, type WatchNative } from '../../shared/native/watch.ts';
import type { WatcherEvents } from './source-watcher.ts';

/**
 * Reads a backend's event fd: each read's bytes are parsed and consumed in stream order
 * until `isStopped()`; a failed read is reported to `events.onError`.
 */
export function readEventStream<T>(
  native: WatchNative,
  fd: number,
  backend: 'fanotify' | 'inotify',
  handlers: {
    isStopped: () => boolean;
    events: Pick<WatcherEvents, 'onError'>;
    parse: (data: Buffer) => T[];
    consume: (events: T[]) => void;
  },
): EventReader {
  return native.startReading(fd, MAX_QUEUED_EVENT_BYTES, (data, error) => {
    if (handlers.isStopped()) return;
    if (data === null) {
      handlers.events.onError(new Error(`reading ${backend} events failed: ${error ?? 'unknown'}`));
      return;
    }
    handlers.consume(handlers.parse(data));
  });
}
