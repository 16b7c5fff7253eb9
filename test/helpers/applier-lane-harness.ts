// An apply lane wired to local parts only (temp target, memory or SQLite index, memory
// content store, commits, dead letters and heal requests kept in arrays): the applier
// minus Kafka, for unit tests and benchmarks. Built by the service's own factory
// (createApplierCore), so the wiring is the real one; only the ports are local.
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { decodeRecord, encodeRecord, type RawRecord } from '../../schemas/codec.ts';
import type { MirrorEvent } from '../../schemas/event.ts';
import type { ReplicaIndex } from '../../services/applier/adapters/applied-index.ts';
import { FsMaterializer } from '../../services/applier/adapters/fs-materializer.ts';
import { MemoryAppliedIndex } from '../../services/applier/adapters/memory-applied-index.ts';
import { TargetRoot } from '../../services/applier/adapters/target-root.ts';
import { TempJournal } from '../../services/applier/adapters/temp-journal.ts';
import { createApplierCore } from '../../services/applier/applier-core.ts';
import type { ApplyLane } from '../../services/applier/apply-lane.ts';
import type { DeadLetterReason } from '../../services/applier/record-applier.ts';
import { createDurability, type DurabilityMode } from '../../services/applier/durability.ts';
import { createApplierMetrics, type ApplierMetrics } from '../../services/applier/metrics.ts';
import type { LaneRecord } from '../../services/applier/partition-queues.ts';
import { Positions } from '../../services/applier/positions.ts';
import { systemClock, type Clock } from '../../services/shared/clock.ts';
import { createMetricsRegistry } from '../../services/shared/metrics.ts';
import { MemoryContentStore } from '../../services/shared/memory-content-store.ts';

export const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

export interface LaneHarness {
  readonly base: string;
  readonly target: string;
  readonly index: ReplicaIndex;
  readonly store: MemoryContentStore;
  readonly lane: ApplyLane;
  readonly positions: Positions;
  readonly metrics: ApplierMetrics;
  readonly deadLetters: { offset: number; reason: DeadLetterReason }[];
  /** The hashes the core asked to be uploaded again. */
  readonly healRequests: string[];
  readonly commits: Map<number, number>[];
  /** Queues records on a partition, offsets continuing from the last. */
  push(partition: number, records: (MirrorEvent | RawRecord)[]): void;
  /** Resolves once every queued record is finished and durable. */
  settle(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export function makeLaneHarness(
  options: {
    stateSpace?: () => string | undefined;
    index?: (dir: string) => ReplicaIndex;
    durability?: DurabilityMode;
    partitions?: number;
    commitIntervalMs?: number;
    /** The lane's clock (intervals and timers); the system clock by default. */
    clock?: Clock;
    /** Dead letters are stored at once unless this says otherwise. */
    sendDeadLetter?: () => Promise<void>;
    /** Parallel writes (the service's default: 64; 0: every write synchronous). */
    maxWritesInFlight?: number;
  } = {},
): LaneHarness {
  const base = mkdtempSync(join(tmpdir(), 'mirrorlog-lane-'));
  const target = join(base, 'target');
  mkdirSync(target);
  const index = options.index?.(base) ?? new MemoryAppliedIndex();
  const store = new MemoryContentStore();
  const logger = pino({ level: 'silent' });
  const metrics = createApplierMetrics(createMetricsRegistry('applier-test'));
  const root = new TargetRoot(target);
  const journal = new TempJournal(join(base, 'journal'), ['harness1']);
  const fs = new FsMaterializer({ root, journal, token: 'harness1', fsyncFiles: options.durability === 'fsync' });
  const positions = new Positions();
  for (let p = 0; p < (options.partitions ?? 3); p++) positions.init(p, 0);
  const deadLetters: { offset: number; reason: DeadLetterReason }[] = [];
  const healRequests: string[] = [];
  const commits: Map<number, number>[] = [];
  let staged = 0;
  const { supply, lane } = createApplierCore(
    {
      index,
      root,
      fs,
      store,
      stagingPath: () => join(base, `staged-${staged++}`),
      positions,
      makeDurable: createDurability(options.durability ?? 'none', target, fs),
      afterIndexCommit: () => journal.reset(),
      commitOffsets: (committed) => commits.push(committed),
      ...(options.stateSpace === undefined ? {} : { stateSpace: options.stateSpace }),
      deadLetters: {
        send: (letter) => {
          const { code, field, message } = letter;
          deadLetters.push({ offset: letter.offset, reason: { code, field, message } });
          return options.sendDeadLetter?.() ?? Promise.resolve();
        },
      },
      heal: { request: (_record, request) => void healRequests.push(request.hash), settled: () => undefined },
      now: () => systemClock.now(),
      clock: options.clock ?? systemClock,
      metrics,
      logger,
    },
    {
      fetchConcurrency: 8,
      maxBufferedBytes: 16 * 1024 * 1024,
      largeThreshold: 1024 * 1024,
      missingRetries: 1,
      missingDelayMs: 5,
      prefetchWindow: 2048,
      commitIntervalMs: options.commitIntervalMs ?? 20,
      maxUncommitted: 10_000,
      maxWritesInFlight: options.maxWritesInFlight ?? 64,
      maxQueued: 100_000,
      maxQueuedBytes: 1024 * 1024 * 1024,
      sliceMs: 10,
      progressEveryMs: 5000,
      maintenanceEveryMs: 3_600_000,
      tombstoneRetentionMs: 14 * 24 * 3_600_000,
    },
  );
  const next = new Map<number, number>();
  const running = lane.start();
  return {
    base,
    target,
    index,
    store,
    lane,
    positions,
    metrics,
    deadLetters,
    healRequests,
    commits,
    push(partition, items) {
      const records: LaneRecord[] = items.map((item) => {
        const offset = next.get(partition) ?? 0;
        next.set(partition, offset + 1);
        const raw: RawRecord = 'op' in item ? encodeRecord(item) : item;
        return { partition, offset, raw, decoded: decodeRecord(raw) };
      });
      lane.enqueue(partition, records, next.get(partition) ?? 0);
    },
    async settle(timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const durable = positions.durable();
        const done = [...next].every(([partition, offset]) => durable.get(partition) === offset);
        const committed = commits.at(-1);
        if (done && lane.queued === 0 && committed !== undefined && [...next].every(([p, o]) => committed.get(p) === o))
          return;
        if (Date.now() > deadline)
          throw new Error(`lane did not settle: queued ${lane.queued}, durable ${JSON.stringify([...durable])}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    async close() {
      await lane.stop();
      await running;
      await supply.close();
      journal.close();
      index.close();
      rmSync(base, { recursive: true, force: true });
    },
  };
}
