// Gets verified content ahead of the apply cursor, so the serialized apply lane never
// waits on one GET while other work is ready.
//
// The lane says which content upcoming file events will need (`want`, in log order),
// and which it needs right now (`demand`: a partition's head waits for it). Up to
// `concurrency` acquisitions run at once, demanded ones first, then wanted ones in
// order while the content held in memory stays under `maxBufferedBytes`. Content up to
// `largeThreshold` bytes is held in memory; larger content is staged in a file.
//
// Each acquisition first tries a local copy (a file of the replica that the index says
// holds this hash: renames republish the same hash), then the object store. Every byte
// is verified against the sha256 and size before it is offered; a local candidate that
// does not match is skipped. Missing content is retried a few times (a producer uploads
// before it publishes, so absence is real trouble), then reported; a server error is
// retried until the server answers.
import { createHash } from 'node:crypto';
import { closeSync, constants, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { fsat } from '../../shared/native/fsat.ts';
import { ContentMissingError, ContentTooLargeError, sha256Hex } from '../../shared/content-store.ts';
import type { ContentStore } from '../../shared/content-store.ts';
import type { Logger } from '../../shared/logger.ts';
import { backoffDelay, sleep } from '../../shared/retry.ts';
import type { Content } from './verified-content.ts';

export type ContentFailureReason = 'content-missing' | 'content-mismatch';
export type ContentOutcome =
  | { kind: 'pending' }
  | { kind: 'ready'; content: Content }
  | { kind: 'failed'; reason: ContentFailureReason; message: string };

export interface ContentSupplyOptions {
  readonly store: ContentStore;
  /** Relative paths of replica files that the index says hold `hash`. */
  readonly localCandidates: (hash: string) => string[];
  /**
   * Opens a replica file read-only without following anything (TargetRoot.openFile), or
   * undefined. The replica may have been changed by anyone: what it holds is verified.
   */
  readonly openLocal: (path: string) => number | undefined;
  /**
   * A new, unused, unpredictable path for a staged large file, in a directory only the
   * applier writes (never the replica). Staged files are created O_EXCL there.
   */
  readonly stagingPath: () => string;
  readonly concurrency: number;
  readonly maxBufferedBytes: number;
  readonly largeThreshold: number;
  readonly missingRetries: number;
  readonly missingDelayMs: number;
  readonly logger: Pick<Logger, 'warn' | 'debug'>;
  /** An outcome changed from pending: the lane may have work again. */
  readonly onSettled: () => void;
  readonly onAcquired?: (source: 'local' | 'store', bytes: number) => void;
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

class MismatchError extends Error {}

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
    if (error instanceof ContentMissingError)
      return { kind: 'failed', reason: 'content-missing', message: error.message };
    if (error instanceof MismatchError || error instanceof ContentTooLargeError)
      return { kind: 'failed', reason: 'content-mismatch', message: error.message };
    // Only reachable on close (server errors are retried): the outcome is never read.
    return {
      kind: 'failed',
      reason: 'content-missing',
      message: `acquisition of ${slot.hash} stopped: ${String(error)}`,
    };
  }

  private inMemory(slot: Slot): boolean {
    return slot.size <= this.options.largeThreshold;
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

  private async acquire(slot: Slot): Promise<Content> {
    const candidates = [...(slot.adopt === undefined ? [] : [slot.adopt]), ...this.options.localCandidates(slot.hash)];
    for (const candidate of candidates) {
      const local = await this.copyLocal(slot, candidate).catch(() => undefined);
      if (local !== undefined) {
        this.options.onAcquired?.('local', slot.size);
        return local;
      }
    }
    const content = await this.download(slot);
    this.options.onAcquired?.('store', slot.size);
    return content;
  }

  /** The candidate's bytes if they are this content; undefined otherwise. */
  private async copyLocal(slot: Slot, path: string): Promise<Content | undefined> {
    const fd = this.options.openLocal(path);
    if (fd === undefined) return undefined;
    let staged: string | undefined;
    let kept = false;
    try {
      if (fstatSync(fd).size !== slot.size) return undefined;
      if (this.inMemory(slot)) {
        const data = readAll(fd, slot.size);
        return data !== undefined && sha256Hex(data) === slot.hash ? { kind: 'buffer', data } : undefined;
      }
      staged = this.options.stagingPath();
      const out = openSync(
        staged,
        constants.O_RDWR | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
      try {
        fsat.copyFileRange(fd, out, slot.size);
      } finally {
        closeSync(out);
      }
      kept = (await hashFile(staged)) === slot.hash;
      return kept ? { kind: 'file', path: staged, shared: false } : undefined;
    } finally {
      closeSync(fd);
      if (staged !== undefined && !kept) await rm(staged, { force: true });
    }
  }

  private async download(slot: Slot): Promise<Content> {
    let missing = 0;
    for (let attempt = 1; ; attempt++) {
      try {
        if (this.inMemory(slot)) {
          const data = await this.options.store.getBuffer(slot.hash, slot.size);
          if (data.length !== slot.size || sha256Hex(data) !== slot.hash)
            throw new MismatchError(`content ${slot.hash} does not match its sha256 or size ${slot.size}`);
          return { kind: 'buffer', data };
        }
        const staged = this.options.stagingPath();
        const { size } = await this.options.store.getToFile(slot.hash, staged);
        if (size !== slot.size || (await hashFile(staged)) !== slot.hash) {
          await rm(staged, { force: true });
          throw new MismatchError(`content ${slot.hash} does not match its sha256 or size ${slot.size}`);
        }
        return { kind: 'file', path: staged, shared: false };
      } catch (error) {
        if (this.closed || error instanceof MismatchError || error instanceof ContentTooLargeError) throw error;
        if (error instanceof ContentMissingError) {
          if (missing++ >= this.options.missingRetries) throw error;
          await sleep(this.options.missingDelayMs * 2 ** (missing - 1), this.abort.signal);
          continue;
        }
        const delayMs = backoffDelay(attempt, { minDelayMs: 200, maxDelayMs: 10_000 });
        this.options.logger.warn(
          { err: error, hash: slot.hash, retry: attempt, delayMs },
          'content download failed; retrying',
        );
        await sleep(delayMs, this.abort.signal);
      }
    }
  }
}

/** Exactly `size` bytes from the start of `fd`, or undefined when it holds another amount. */
function readAll(fd: number, size: number): Buffer | undefined {
  const data = Buffer.allocUnsafe(size + 1);
  let length = 0;
  for (;;) {
    const n = readSync(fd, data, length, data.length - length, length);
    if (n === 0) break;
    length += n;
    if (length > size) return undefined;
  }
  return length === size ? data.subarray(0, size) : undefined;
}

async function hashFile(path: string): Promise<string> {
  const digest = createHash('sha256');
  for await (const chunk of createReadStream(path)) digest.update(chunk as Buffer);
  return digest.digest('hex');
}
