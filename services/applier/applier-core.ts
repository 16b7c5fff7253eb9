// The applier's core, built from its ports by one factory that the service (applier.ts)
// and the tests (test/helpers/applier-lane-harness.ts) share: the content supply, the
// rebuild decided at start, the record applier, what happens to a record that cannot be
// applied, and the apply lane, wired to each other. Kafka (the record source, the
// dead-letter and heal topics) and the process (directories, HTTP, signals) stay in
// applier.ts; they reach the core only through the ports below.
import { exactNs } from './adapters/fs-primitives.ts';
import type { HealRequest } from '../../schemas/heal-request.ts';
import type { ApplierConfig } from '../../schemas/config.ts';
import type { Clock } from '../shared/clock.ts';
import type { ContentStore } from '../shared/content-store.ts';
import type { Logger } from '../shared/logger.ts';
import { ContentSupply } from './adapters/content-supply.ts';
import type { ReplicaIndex } from './adapters/applied-index.ts';
import type { DeadLetter } from './adapters/dead-letter-producer.ts';
import type { FsMaterializer } from './adapters/fs-materializer.ts';
import type { TargetRoot } from './adapters/target-root.ts';
import { ApplyLane } from './apply-lane.ts';
import type { ApplyLaneDeps, ApplyLaneOptions } from './apply-lane-deps.ts';
import type { ApplierMetrics } from './metrics.ts';
import type { LaneRecord } from './partition-queues.ts';
import type { Positions } from './positions.ts';
import { RebuildController, type RebuildState } from './rebuild.ts';
import { RecordApplier, type DeadLetterReason } from './record-applier.ts';
import { WritesInFlight } from './writes-in-flight.ts';

/** Every tunable of the applier's core, in one object (applierTuning fills it from the config). */
export type ApplierCoreTuning = ApplyLaneOptions & {
  fetchConcurrency: number;
  maxBufferedBytes: number;
  largeThreshold: number;
  missingRetries: number;
  missingDelayMs: number;
  /** How often a rebuild logs its progress. */
  progressEveryMs: number;
  /** How often old tombstones are pruned from the index. */
  maintenanceEveryMs: number;
  /** How long a tombstone is kept: it damps events that arrive late for a deleted path. */
  tombstoneRetentionMs: number;
};

/** The core's tunables for a configuration, with defaults for what the configuration does not set. */
export function applierCoreTuning(
  config: Pick<ApplierConfig, 'fetchConcurrency' | 'commitInterval' | 'historyWindow'>,
): ApplierCoreTuning {
  return {
    fetchConcurrency: config.fetchConcurrency,
    commitIntervalMs: config.commitInterval,
    prefetchWindow: 2048,
    maxQueued: 50_000,
    maxQueuedBytes: 16 * 1024 * 1024,
    maxUncommitted: 50_000,
    sliceMs: 10,
    // Enough to keep the pool's threads busy with small files (BENCHMARKS.md, "parallel file creation").
    maxWritesInFlight: 64,
    maxBufferedBytes: 64 * 1024 * 1024,
    largeThreshold: 8 * 1024 * 1024,
    missingRetries: 3,
    missingDelayMs: 500,
    progressEveryMs: 5000,
    maintenanceEveryMs: 3_600_000,
    // Twice the history window is long past any late event.
    tombstoneRetentionMs: 2 * config.historyWindow,
  };
}

/** Where a dead letter goes: resolves once it is stored, rejects if it never will be (closed first). */
export type DeadLetterSink = { send(letter: DeadLetter): Promise<void> };
/** Asks for content found missing or corrupt in the store to be uploaded again (heal-channel.ts). */
export type HealRequests = {
  request(record: LaneRecord, request: Omit<HealRequest, 'v' | 'replica'>): void;
  /** `record`, asked for before, was applied again: its wait ends. */
  settled(record: LaneRecord): void;
};

export type ApplierCorePorts = {
  index: ReplicaIndex;
  root: TargetRoot;
  fs: FsMaterializer;
  store: ContentStore;
  /** Where large content is staged before it is renamed into place. */
  stagingPath: () => string;
  positions: Positions;
  makeDurable: ApplyLaneDeps['makeDurable'];
  afterIndexCommit: ApplyLaneDeps['afterIndexCommit'];
  commitOffsets: ApplyLaneDeps['commitOffsets'];
  /** A rebuild decided at start (replica-state.ts); its temp files of `liveTokens` are left alone. */
  rebuild?: { state: RebuildState; liveTokens: ReadonlySet<string> };
  /** What keeps the state directory from taking writes (full, read-only), if anything. */
  stateSpace?: ApplyLaneDeps['stateSpace'];
  deadLetters: DeadLetterSink;
  heal: HealRequests;
  /** Wall-clock milliseconds: seqs from the future, tombstone ages. */
  now: () => number;
  /** Intervals and timers (the service gives a monotonic clock: a stepped wall clock moves no deadline). */
  clock: Clock;
  metrics: ApplierMetrics;
  logger: Logger;
};

export type ApplierCore = {
  supply: ContentSupply;
  applier: RecordApplier;
  lane: ApplyLane;
  /** The rebuild in progress, if one was decided at start. */
  rebuild: RebuildController | undefined;
};

export function createApplierCore(ports: ApplierCorePorts, tuning: ApplierCoreTuning): ApplierCore {
  const { index, root, metrics, logger, positions } = ports;
  const rebuild =
    ports.rebuild === undefined
      ? undefined
      : new RebuildController(ports.rebuild.state, {
          index,
          fs: ports.fs,
          root,
          liveTokens: ports.rebuild.liveTokens,
          metrics,
          logger,
          clock: ports.clock,
          progressEveryMs: tuning.progressEveryMs,
        });
  const supply = new ContentSupply({
    store: ports.store,
    localCandidates: (hash) => index.pathsWithHash(hash, 3),
    openLocal: (path) => root.openFile(path),
    stagingPath: ports.stagingPath,
    concurrency: tuning.fetchConcurrency,
    maxBufferedBytes: tuning.maxBufferedBytes,
    largeThreshold: tuning.largeThreshold,
    missingRetries: tuning.missingRetries,
    missingDelayMs: tuning.missingDelayMs,
    logger,
    // Called only once content is wanted, which the lane (built below) does.
    onSettled: () => lane.wake(),
    onAcquired: (source, bytes) => {
      metrics.contentAcquired.inc({ source });
      metrics.contentBytes.inc({ source }, bytes);
    },
  });
  const deadLetter = (record: LaneRecord, reason: DeadLetterReason): void => {
    if (record.reapplied === true) {
      // Dead-lettered before; its content is still not right: it stays a dead letter.
      logger.warn(
        { partition: record.partition, offset: record.offset, ...reason },
        'a healed record still cannot be applied',
      );
      return;
    }
    metrics.deadLetters.inc({ reason: reason.code });
    logger.warn(
      { partition: record.partition, offset: record.offset, key: record.raw.key?.toString().slice(0, 300), ...reason },
      'dead-lettering a record the applier cannot apply',
    );
    const { decoded } = record;
    if (
      (reason.code === 'content-missing' || reason.code === 'content-mismatch') &&
      decoded.ok &&
      decoded.event.op === 'file'
    ) {
      const { hash, size, path } = decoded.event;
      ports.heal.request(record, { hash, size, path, reason: reason.code });
      metrics.healRequests.inc({ reason: reason.code });
    }
    // The durable position stops here until the dead letter is stored (positions.ts).
    positions.deadLetterSent(record.partition, record.offset, false);
    ports.deadLetters.send({ partition: record.partition, offset: record.offset, raw: record.raw, ...reason }).then(
      () => positions.deadLetterSent(record.partition, record.offset, true),
      () => undefined, // closed first: not committed, so redelivered and dead-lettered again
    );
  };
  const writes =
    tuning.maxWritesInFlight > 0
      ? new WritesInFlight(tuning.maxWritesInFlight, {
          positions,
          metrics,
          settled: () => lane.wake(),
          failed: (record, error) => lane.writeFailed(record, error),
          indexFailed: (error) => lane.loseIndex(error),
        })
      : undefined;
  const applier = new RecordApplier({
    index,
    fs: ports.fs,
    ...(writes === undefined ? {} : { writes }),
    supply,
    metrics,
    rebuilding: () => rebuild?.active === true,
    // A rebuild over files the index did not know may find a file already holding its content.
    adoptPath: (path) => (rebuild?.active === true && rebuild.state.adopt ? path : undefined),
    now: ports.now,
    logger,
    deadLetter,
  });
  const lane: ApplyLane = new ApplyLane(
    {
      index,
      applier,
      supply,
      positions,
      ...(writes === undefined ? {} : { writes }),
      makeDurable: async () => {
        // Entries made or removed moved their directories' mtimes: set back as the log says.
        const { failed, lastError } = ports.fs.restoreDirTimes((dir) => {
          const entry = index.get(dir);
          return entry?.kind === 'dir' && entry.mtimeMs !== undefined
            ? exactNs(entry.mtimeMs, entry.mtimeNs)
            : undefined;
        });
        if (failed > 0) logger.warn({ failed, err: lastError }, 'could not set the mtimes of some directories');
        await ports.makeDurable();
      },
      afterIndexCommit: ports.afterIndexCommit,
      commitOffsets: ports.commitOffsets,
      rebuild: () => rebuild,
      maintenance: {
        everyMs: tuning.maintenanceEveryMs,
        run: () => index.pruneTombstones((ports.now() - tuning.tombstoneRetentionMs) * 1000, 10_000) === 10_000,
      },
      ...(ports.stateSpace === undefined ? {} : { stateSpace: ports.stateSpace }),
      onReapplied: (record) => ports.heal.settled(record),
      clock: ports.clock,
      metrics,
      logger,
    },
    tuning,
  );
  return { supply, applier, lane, rebuild };
}
