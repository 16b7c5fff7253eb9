// Observations examined and waiting for the publish stage, in order, with their inline
// bytes counted (the pipeline's memory bound). A held delete that the delete guard
// releases while the very batch that held it is being sent is remembered here, so the
// batch's end sends it again instead of taking the path for done (a lost delete).
import type { Observation } from './observation.ts';
import { nextBatchLength } from './publish-batch.ts';

export class ReadyQueue {
  private items: Observation[] = [];
  private inlineBytes = 0;
  private readonly releasedWhileSent = new Map<string, Observation>();

  get length(): number {
    return this.items.length;
  }

  /** Inline content bytes waiting. */
  get bytes(): number {
    return this.inlineBytes;
  }

  push(observation: Observation): void {
    this.items.push(observation);
    this.inlineBytes += observation.data?.length ?? 0;
  }

  /** The next send, oldest first, within the batch limits; it stays queued until `sent`. */
  nextBatch(limits: { readonly maxBatch: number; readonly maxBatchBytes: number }): Observation[] {
    return this.items.slice(0, nextBatchLength(this.items, limits));
  }

  /** The guard allowed `observation` while its path's batch may be being sent. */
  releasedDuringSend(observation: Observation): void {
    this.releasedWhileSent.set(observation.path, observation);
  }

  /** The path left the pipeline without being published (examined again, or failed). */
  forget(path: string): void {
    this.releasedWhileSent.delete(path);
  }

  /**
   * Takes the batch returned by `nextBatch` off the queue once it was sent, `published`
   * being what the guard admitted of it. Returns the paths now done; a held observation
   * released during the send is queued again instead, its path still in flight.
   */
  sent(batch: readonly Observation[], published: ReadonlySet<Observation>): string[] {
    this.items = this.items.slice(batch.length);
    for (const observation of batch) this.inlineBytes -= observation.data?.length ?? 0;
    const done: string[] = [];
    for (const observation of batch) {
      const released = this.releasedWhileSent.get(observation.path);
      this.releasedWhileSent.delete(observation.path);
      if (released === observation && !published.has(observation)) this.push(observation);
      else done.push(observation.path);
    }
    return done;
  }
}
