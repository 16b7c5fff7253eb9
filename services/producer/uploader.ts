// Content first: every hash an event references is in the object store before the
// event is published. Known content (in the index, or stored moments ago) is not sent
// again, which is what makes renames and copies free.
import { ContentMismatchError, type ContentStore } from '../shared/content-store.ts';
import type { ProducerMetrics } from './metrics.ts';

/** Outcome of one attempt: `changed` means the file moved on while it was read. */
export type StoreResult = 'stored' | 'known' | 'changed';

const RECENT_LIMIT = 50_000;

export class Uploader {
  private readonly inFlight = new Map<string, Promise<StoreResult>>();
  // Hashes stored but perhaps not yet in the index (their events are still queued).
  private recent = new Set<string>();

  constructor(
    private readonly store: ContentStore,
    private readonly isIndexed: (hash: string) => boolean,
    private readonly metrics: ProducerMetrics,
  ) {}

  /** Stores `data` (small files, read whole) or streams `file` (large files) under `hash`. */
  ensureStored(hash: string, size: number, content: { data: Buffer } | { file: string }): Promise<StoreResult> {
    if (this.recent.has(hash) || this.isIndexed(hash)) {
      this.metrics.uploadsSkipped.inc();
      return Promise.resolve('known');
    }
    const pending = this.inFlight.get(hash);
    if (pending !== undefined) return pending;
    const upload = this.upload(hash, size, content).finally(() => this.inFlight.delete(hash));
    this.inFlight.set(hash, upload);
    return upload;
  }

  private async upload(hash: string, size: number, content: { data: Buffer } | { file: string }): Promise<StoreResult> {
    try {
      if ('data' in content) {
        // A PUT of a small object costs what a HEAD costs: no need to ask first.
        await this.store.putBuffer(hash, content.data);
      } else {
        if (await this.store.has(hash)) {
          this.metrics.uploadsSkipped.inc();
          this.remember(hash);
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
    this.remember(hash);
    return 'stored';
  }

  private remember(hash: string): void {
    if (this.recent.size >= RECENT_LIMIT) this.recent = new Set();
    this.recent.add(hash);
  }
}
