// The real producer core (createProducerCore: pipeline, examiner, publish stage, reconciler,
// new-directory walker) on the in-memory tree, index and content store, on virtual time,
// publishing through the real codec into in-memory partitions split by the real partitioner.
import { decodeRecord, type EncodedRecord } from '../../schemas/codec.ts';
import type { MirrorEvent } from '../../schemas/event.ts';
import { partitionOf } from '../../schemas/partitioner.ts';
import { MemorySourceIndex } from '../../services/producer/adapters/memory-source-index.ts';
import { createProducerMetrics } from '../../services/producer/metrics.ts';
import {
  createProducerCore,
  type ProducerCore,
  type ProducerPorts,
  type ProducerTuning,
} from '../../services/producer/producer-core.ts';
import type { SourceTree } from '../../services/producer/ports/source-tree.ts';
import type { ManualClock } from '../../services/shared/clock.ts';
import { createLogger } from '../../services/shared/logger.ts';
import { MemoryContentStore } from '../../services/shared/memory-content-store.ts';
import { Registry } from 'prom-client';

export const MODEL_TUNING: ProducerTuning = {
  quietMs: 5,
  workers: 3,
  maxPending: 50,
  maxPendingBytes: 1 << 20,
  maxHints: 1000,
  maxBatch: 7,
  maxBatchBytes: 1 << 20,
  maxUnstableMs: 30_000,
  inlineMaxBytes: 16_384,
  reconcileRate: 50_000,
  hintsAhead: 100,
};

export type SendFailure = 'none' | 'lost' | 'after-append';

export class ProducerHarness {
  readonly partitions: MirrorEvent[][];
  readonly store = new MemoryContentStore();
  readonly index = new MemorySourceIndex();
  readonly core: ProducerCore;
  // A bare registry: the default process metrics of createMetricsRegistry install
  // collectors that outlive it, and thousands of cases would keep thousands of them.
  readonly metrics = createProducerMetrics(new Registry());
  /** Events that referenced content the store did not hold when they were sent. */
  readonly missingContent: string[] = [];
  private failures: SendFailure[] = [];

  constructor(
    tree: SourceTree,
    private readonly clock: ManualClock,
    options: {
      partitions: number;
      tuning?: Partial<ProducerTuning>;
      nowMicros?: () => number;
      accounts?: ProducerPorts['accounts'];
      attributes?: ProducerPorts['attributes'];
    },
  ) {
    this.partitions = Array.from({ length: options.partitions }, () => []);
    this.core = createProducerCore(
      {
        source: 'model',
        tree,
        index: this.index,
        store: this.store,
        send: (records) => this.send(records),
        clock,
        nowMicros: options.nowMicros,
        lastSeq: 0,
        isExcluded: () => false,
        excludeGlobs: [],
        metrics: this.metrics,
        ...(options.accounts === undefined ? {} : { accounts: options.accounts }),
        ...(options.attributes === undefined ? {} : { attributes: options.attributes }),
        logger: createLogger({ level: (process.env.MODEL_LOG_LEVEL ?? 'silent') as 'silent', name: 'producer-model' }),
      },
      { ...MODEL_TUNING, ...options.tuning },
    );
  }

  /** The next sends fail this way, one each. */
  failSends(failures: SendFailure[]): void {
    this.failures.push(...failures);
  }

  /** Starts the core and runs it until it is live. */
  async start(): Promise<void> {
    let done = false;
    // Boxed: whatever the start rejected with is rethrown as it is.
    let failed: { error: unknown } | undefined;
    this.core.start().then(
      () => (done = true),
      (error: unknown) => (failed = { error }),
    );
    await this.settle(() => done || failed !== undefined);
    if (failed !== undefined) throw failed.error;
    await this.settle();
  }

  /**
   * Runs the core on virtual time until nothing is queued, walked or unpublished and no
   * timer is set (or `until` holds). Bounded: a core that never settles fails the case.
   */
  async settle(until: () => boolean = () => false): Promise<void> {
    for (let turn = 0; turn < 20_000; turn++) {
      await new Promise((resolve) => setImmediate(resolve));
      if (until()) return;
      if (this.clock.fireDue()) continue;
      if (!this.core.isIdle()) {
        this.clock.advanceToNext();
        continue;
      }
      if (!this.clock.advanceToNext()) return;
    }
    throw new Error(`the producer did not settle: idle ${this.core.isIdle()}, timers ${this.clock.pendingTimers}`);
  }

  private async send(records: readonly EncodedRecord[]): Promise<void> {
    await Promise.resolve();
    const failure = this.failures.shift() ?? 'none';
    if (failure === 'lost') throw new Error('broker unreachable');
    for (const record of records) {
      const decoded = decodeRecord({ key: record.key, value: record.value, headers: record.headers });
      if (!decoded.ok)
        throw new Error(`the producer sent a record the applier would dead-letter: ${decoded.error.message}`);
      const event = decoded.event;
      if (event.op === 'file' && event.data === undefined && (await this.store.stat(event.hash)) === undefined) {
        this.missingContent.push(event.path);
      }
      this.partitions[partitionOf(record.key, this.partitions.length)]!.push(event);
    }
    if (failure === 'after-append') throw new Error('acknowledgement lost');
  }
}
