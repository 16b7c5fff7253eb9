// What the channel between the kernel and the producer does to watcher reports, decided
// by the test: it delivers them, holds them back (late delivery), drops them silently, or
// overflows (everything buffered is lost, with or without the overflow signal).
import type {
  SourceTree,
  TreeWatch,
  WatchHint,
  WatchOptions,
  WatchSink,
} from '../../services/producer/ports/source-tree.ts';

export type Delivery = 'deliver' | 'hold' | 'drop' | 'overflow' | 'overflow-silent';

export class LossyWatcher {
  private buffered: WatchHint[] = [];
  private sink: WatchSink | undefined;
  /** Losses nothing told the producer about: by design only a periodic walk can find what they hid. */
  silentLosses = 0;
  signalledLosses = 0;

  /** The source tree with this channel between its watcher and whoever watches it. */
  wrap(tree: SourceTree): SourceTree {
    return new Proxy(tree, {
      get: (target, property, receiver) => {
        if (property !== 'watch') {
          const value = Reflect.get(target, property, receiver) as unknown;
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        }
        return (sink: WatchSink, options: WatchOptions): Promise<TreeWatch> => {
          this.sink = sink;
          return target.watch(
            {
              onHints: (hints) => this.buffered.push(...hints),
              onError: (error) => sink.onError(error),
              onOverflow: (reason) => sink.onOverflow(reason),
            },
            options,
          );
        };
      },
    });
  }

  /** What happens to everything reported since the last call. */
  pass(delivery: Delivery): void {
    const sink = this.sink;
    if (sink === undefined || this.buffered.length === 0) {
      if (delivery === 'overflow' && sink !== undefined) this.signal(sink);
      return;
    }
    switch (delivery) {
      case 'hold':
        return;
      case 'deliver': {
        const hints = this.buffered;
        this.buffered = [];
        sink.onHints(hints);
        return;
      }
      case 'drop':
        // One report lost, the rest delivered: what a racing event list does.
        this.buffered.splice(this.buffered.length - 1, 1);
        this.silentLosses++;
        this.pass('deliver');
        return;
      case 'overflow':
        this.buffered = [];
        this.signal(sink);
        return;
      case 'overflow-silent':
        this.buffered = [];
        this.silentLosses++;
        return;
    }
  }

  private signal(sink: WatchSink): void {
    this.signalledLosses++;
    sink.onError(new Error('event queue overflow'));
  }
}
