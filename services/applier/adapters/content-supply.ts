// Gets verified content ahead of the apply cursor, so the serialized apply lane never
// waits on one GET while other work is ready.
//
// The lane says which content upcoming file events will need (`want`, in log order),
// and which it needs right now (`demand`: a partition's head waits for it). Up to
// `concurrency` acquisitions run at once, demanded ones first, then wanted ones in
// order while the content held in memory stays under `maxBufferedBytes`. Content up to
// `largeThreshold` bytes is held in memory; larger content is staged in a file.
//
// Each acquisition (content-acquisition.ts) first tries a local copy, then the object
// store, and verifies every byte before it is offered.
import { rm } from 'node:fs/promises';
import {
  acquireContent,
  acquisitionFailure,
  isHeldInMemory,
  type AcquisitionOptions,
  type ContentFailureReason,
} from './content-acquisition.ts';
import type { Content } from './verified-content.ts';

export type { ContentFailureReason };
export type ContentOutcome =
  | { kind: 'pending' }
  | { kind: 'ready'; content: Content }
  | { kind: 'failed'; reason: ContentFailureReason; message: string };

export interface ContentSupplyOptions extends AcquisitionOptions {
  /** Relative paths of replica files that the index says hold `hash`. */
  readonly localCandidates: (hash: string) => string[];
  readonly concurrency: number;
  readonly maxBufferedBytes: number;
  /** An outcome changed from pending: the lane may have work again. */
  readonly onSettled: () => void;
}

type Slot = {
  readonly key: string;
  readonly hash: string;
  readonly size: number;
  refs: number;
  state: 'queued' | 'running' | 'settled' | 'released';
  demanded: boolean;
  /** The destination (relative) may already hold the content (a replica being adopted). */
  adopt: string | undefined;
  outcome: ContentOutcome;
  /** Bytes this slot counts in `bufferedBytes`. */
  counted: number;
};

export class ContentSupply {
  private readonly slots = new Map<string, Slot>();
  private readonly queue: Slot[] = [];
  private queueHead = 0;
  private demanded: Slot[] = [];
  private running = 0;
  private bufferedBytes = 0;
  private closed = false;
  private readonly abort = new AbortController();

  constructor(private readonly options: ContentSupplyOptions) {}

  /** Registers interest in content; returns the key to demand, read and release it by. */
  want(hash: string, size: number, adoptPath?: string): string {
    const key = `${hash}:${size}`;
    const slot = this.slots.get(key);
    if (slot !== undefined) {
      slot.refs++;
      return key;
    }
    const created: Slot = {
      key,
      hash,
      size,
      refs: 1,
      state: 'queued',
      demanded: false,
      adopt: adoptPath,
      outcome: { kind: 'pending' },
      counted: 0,
    };
    this.slots.set(key, created);
    this.queue.push(created);
    this.pump();
    return key;
  }

  /** The lane is waiting for this content: acquire it before anything merely wanted. */
  demand(key: string): void {
    const slot = this.slots.get(key);
    if (slot === undefined || slot.demanded) return;
    slot.demanded = true;
    if (slot.state === 'queued') this.demanded.push(slot);
    this.pump();
  }

  /** The outcome so far; a ready file is `shared` while another holder still needs it. */
  outcome(key: string): ContentOutcome {
    const slot = this.slots.get(key);
    if (slot === undefined) return { kind: 'pending' };
    const { outcome } = slot;
    if (outcome.kind === 'ready' && outcome.content.kind === 'file')
      return { kind: 'ready', content: { ...outcome.content, shared: slot.refs > 1 } };
    return outcome;
  }

  release(key: string): void {
    const slot = this.slots.get(key);
    if (slot === undefined || --slot.refs > 0) return;
    this.slots.delete(key);
    const wasRunning = slot.state === 'running';
    slot.state = 'released';
    if (!wasRunning) this.dispose(slot);
    this.pump(); // memory was freed: prefetching may go on
  }

  /** Bytes of content held in memory (fetched or being fetched). */
  get heldBytes(): number {
    return this.bufferedBytes;
  }

  /** Stops all acquisitions and removes staged files. */
  async close(): Promise<void> {
    this.closed = true;
    this.abort.abort(new Error('content supply closed'));
    for (const slot of this.slots.values()) {
      slot.state = 'released';
      this.dispose(slot);
    }
    this.slots.clear();
  }

  private pump(): void {
    while (!this.closed && this.running < this.options.concurrency) {
      const slot = this.nextToStart();
      if (slot === undefined) return;
      slot.state = 'running';
      this.running++;
      slot.counted = this.inMemory(slot) ? slot.size : 0;
      this.bufferedBytes += slot.counted;
      this.acquire(slot).then(
        (content) => this.settle(slot, { kind: 'ready', content }),
        (error: unknown) => this.settle(slot, this.failureOf(slot, error)),
      );
    }
  }

  private nextToStart(): Slot | undefined {
    while (this.demanded.length > 0) {
      const slot = this.demanded.shift()!;
      if (slot.state === 'queued') return slot;
    }
    while (this.queueHead < this.queue.length) {
      const slot = this.queue[this.queueHead]!;
      if (slot.state !== 'queued') {
        this.queueHead++;
        continue;
      }
      const fits =
        !this.inMemory(slot) ||
        this.bufferedBytes === 0 ||
        this.bufferedBytes + slot.size <= this.options.maxBufferedBytes;
      if (!fits) return undefined;
      this.queueHead++;
      return slot;
    }
    if (this.queueHead > 0) {
      this.queue.length = 0;
      this.queueHead = 0;
    }
    return undefined;
  }

  private settle(slot: Slot, outcome: ContentOutcome): void {
    this.running--;
    slot.outcome = outcome;
    if (outcome.kind === 'failed') this.uncount(slot);
    if (slot.state === 'released' || this.closed) this.dispose(slot);
    else slot.state = 'settled';
    this.pump();
    this.options.onSettled();
  }

  private failureOf(slot: Slot, error: unknown): ContentOutcome {
    return { kind: 'failed', ...acquisitionFailure(slot.hash, error) };
  }

  private inMemory(slot: Slot): boolean {
    return isHeldInMemory(slot.size, this.options);
  }

  private dispose(slot: Slot): void {
    if (slot.outcome.kind === 'ready') {
      const { content } = slot.outcome;
      if (content.kind === 'file') void rm(content.path, { force: true });
    }
    this.uncount(slot);
    slot.outcome = { kind: 'failed', reason: 'content-missing', message: 'released' };
  }

  private uncount(slot: Slot): void {
    this.bufferedBytes -= slot.counted;
    slot.counted = 0;
  }

  // async: a throwing localCandidates becomes a failed outcome, not an exception in pump().
  private async acquire(slot: Slot): Promise<Content> {
    const candidates = [...(slot.adopt === undefined ? [] : [slot.adopt]), ...this.options.localCandidates(slot.hash)];
    return await acquireContent(slot.hash, slot.size, candidates, this.options, this.abort.signal);
  }
}
