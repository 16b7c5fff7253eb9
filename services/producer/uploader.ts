// Content first: every hash an event references is in the object store before the
// event is published. Known content (in the index, or stored moments ago) is not sent
// again, which is what makes renames and copies free.
//
// Safe against `mirrorlog gc`, which deletes only objects that no retained record
// references and that are older than its grace period (at least GC_MIN_GRACE_MS): an
// indexed hash is referenced by the latest record of its path, which compaction keeps;
// anything else is relied on only while it is younger than TRUST_STORED_MS, and stored
// again (which renews its age) after that.
//
// Nothing is trusted for ever: an object removed behind mirrorlog's back (a lifecycle
// rule, an operator, gc of an unregistered tree) would otherwise never come back. So
// indexed content is looked up in the store again once its last check is older than
// TRUST_STORED_MS (one HEAD, not an upload, when it is still there; any age is fine,
// since the log references it), and stored again when it is gone.
import { ContentMismatchError, type ContentStore } from '../shared/content-store.ts';
import type { ProducerMetrics } from './metrics.ts';

/** How long content found in the store, or stored by us, is relied on without storing it again. */
export const TRUST_STORED_MS = 30 * 60_000;

/** Outcome of one attempt: `changed` means the file moved on while it was read. */
export type StoreResult = 'stored' | 'known' | 'changed';

const RECENT_LIMIT = 50_000;

export class Uploader {
  private readonly inFlight = new Map<string, Promise<StoreResult>>();
  // Hashes stored but perhaps not yet in the index (their events are still queued),
  // with when the store got them.
  private recent = new Map<string, number>();
  // Indexed hashes found in the store, with when they were looked up.
  private verified = new Map<string, number>();

  constructor(
    private readonly store: ContentStore,
    private readonly isIndexed: (hash: string) => boolean,
    private readonly metrics: ProducerMetrics,
    private readonly now: () => number = Date.now,
  ) {}

  /** Stores `data` (small files, read whole) or streams `file` (large files) under `hash`. */
  ensureStored(hash: string, size: number, content: { data: Buffer } | { file: string }): Promise<StoreResult> {
    const indexed = this.isIndexed(hash);
    if ((indexed && this.trusted(this.verified.get(hash))) || this.trusted(this.recent.get(hash))) {
      this.metrics.uploadsSkipped.inc();
      return Promise.resolve('known');
    }
    const pending = this.inFlight.get(hash);
    if (pending !== undefined) return pending;
    const upload = this.upload(hash, size, content, indexed).finally(() => this.inFlight.delete(hash));
    this.inFlight.set(hash, upload);
    return upload;
  }

  private async upload(
    hash: string,
    size: number,
    content: { data: Buffer } | { file: string },
    indexed: boolean,
  ): Promise<StoreResult> {
    try {
      if ('data' in content) {
        // A PUT of a small object costs what a HEAD costs: no need to ask first.
        await this.store.putBuffer(hash, content.data);
      } else {
        const stored = await this.store.stat(hash);
        if (stored !== undefined && indexed) {
          this.metrics.uploadsSkipped.inc();
          this.verified = remembered(this.verified, hash, this.now());
          return 'known';
        }
        if (stored !== undefined && this.trusted(stored.lastModified.getTime())) {
          this.metrics.uploadsSkipped.inc();
          this.remember(hash, stored.lastModified.getTime());
          return 'known';
        }
        await this.store.putFile(hash, content.file, size);
      }
    } catch (error) {
      if (error instanceof ContentMismatchError) return 'changed';
      throw error;
    }
    this.metrics.objectsUploaded.inc();
    this.metrics.bytesUploaded.inc(size);
    this.remember(hash, this.now());
    return 'stored';
  }

  private trusted(storedAt: number | undefined): boolean {
    return storedAt !== undefined && this.now() - storedAt < TRUST_STORED_MS;
  }

  private remember(hash: string, storedAt: number): void {
    this.recent = remembered(this.recent, hash, storedAt);
  }
}

/** `map` with `hash` set, started afresh past RECENT_LIMIT (memory stays bounded; forgetting only costs a lookup). */
function remembered(map: Map<string, number>, hash: string, at: number): Map<string, number> {
  const kept = map.size >= RECENT_LIMIT ? new Map<string, number>() : map;
  kept.set(hash, at);
  return kept;
}
