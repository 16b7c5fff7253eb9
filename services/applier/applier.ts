// The applier service: materializes one replica from the log. Composition only; the
// work is in the apply lane (apply-lane.ts), the record applier, the content supply and
// the materializer. Start-up: directories and state, leftover temp files removed, topic
// checked, resume-or-rebuild decided (replica-state.ts), then consumption starts.
//
// /readyz is ready once the consumer has its partitions, no rebuild is in progress (a
// replica mid-rebuild is not fit to take over) and the lane is not stalled on a failing
// filesystem.
import { replicaGroupId } from '../../schemas/names.ts';
import { adoptLegacyGroup } from './group-migration.ts';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ApplierConfig } from '../../schemas/config.ts';
import { deadLetterTopic } from '../../schemas/content-key.ts';
import { defaultStateDir, redactConfig, type Environment } from '../shared/config.ts';
import type { ContentStore } from '../shared/content-store.ts';
import { startServiceHttp, type Readiness, type ServiceHttp } from '../shared/http-server.ts';
import { createKafka, ensureDeadLetterTopic, ensureTopic } from '../shared/kafka.ts';
import { createLogger, type Logger } from '../shared/logger.ts';
import { createMetricsRegistry, type Registry } from '../shared/metrics.ts';
import { S3ContentStore, s3OptionsFromConfig } from '../shared/s3-content-store.ts';
import { DeadLetterProducer } from './adapters/dead-letter-producer.ts';
import { FsMaterializer } from './adapters/fs-materializer.ts';
import { KafkaRecordSource } from './adapters/kafka-record-source.ts';
import { TargetRoot } from './adapters/target-root.ts';
import { TempJournal } from './adapters/temp-journal.ts';
import { newRunToken, tempNameFor } from './domain/temp-name.ts';
import { createApplierCore } from './applier-core.ts';
import { createDurability } from './durability.ts';
import { createApplierMetrics } from './metrics.ts';
import { Positions } from './positions.ts';
import { RebuildController } from './rebuild.ts';
import { TEMP_JOURNAL_FILE, decideStart, openIndex, prepareDirectories, removeLeftoverTemps } from './replica-state.ts';

export const DEFAULT_APPLIER_METRICS_PORT = 9465;

/** Knobs below the configuration, for tests and benchmarks: with the config, the core's tuning in one object. */
export type ApplierTuning = {
  prefetchWindow: number;
  maxQueued: number;
  maxUncommitted: number;
  sliceMs: number;
  maxBufferedBytes: number;
  largeThreshold: number;
  missingRetries: number;
  missingDelayMs: number;
  sessionTimeoutMs: number;
  progressEveryMs: number;
};

export const DEFAULT_TUNING: ApplierTuning = {
  prefetchWindow: 2048,
  maxQueued: 50_000,
  maxUncommitted: 50_000,
  sliceMs: 10,
  maxBufferedBytes: 64 * 1024 * 1024,
  largeThreshold: 8 * 1024 * 1024,
  missingRetries: 3,
  missingDelayMs: 500,
  sessionTimeoutMs: 10_000,
  progressEveryMs: 5000,
};

export interface ApplierOptions {
  readonly logger?: Logger;
  readonly env?: Environment;
  readonly store?: ContentStore;
  readonly tuning?: Partial<ApplierTuning>;
}

export interface ApplierHandle {
  readonly replica: string;
  readonly stateDir: string;
  readonly target: string;
  /** The health/metrics port (when served: metricsPort set, 0 picks one). */
  readonly port: number | undefined;
  readonly registry: Registry;
  readiness(): Readiness;
  /** Never resolves; rejects if the applier fails for good (and then it has stopped). */
  readonly failure: Promise<never>;
  /** Stops fetching, finishes the record in hand, makes everything durable, commits. */
  stop(): Promise<void>;
}

export async function startApplier(config: ApplierConfig, options: ApplierOptions = {}): Promise<ApplierHandle> {
  const tuning = { ...DEFAULT_TUNING, ...options.tuning };
  const logger = options.logger ?? createLogger({ level: config.logLevel, name: 'applier' });
  const dirs = prepareDirectories(resolve(config.target), resolve(config.stateDir ?? defaultStateDir(config.replica, options.env)));
  logger.info({ config: redactConfig({ ...config, ...dirs }) }, 'applier starting');
  const registry = createMetricsRegistry('applier');
  const metrics = createApplierMetrics(registry);
  const root = new TargetRoot(dirs.target);
  const index = openIndex(dirs.stateDir, { replica: config.replica, topic: config.topic });
  const cleanups: (() => unknown)[] = [() => index.close()];
  try {
    const token = newRunToken();
    const stagingToken = newRunToken();
    const journalFile = join(dirs.stateDir, TEMP_JOURNAL_FILE);
    const leftovers = removeLeftoverTemps(dirs.stateDir, new FsMaterializer({ root, journal: { noteDir: () => undefined }, token, fsyncFiles: false }));
    if (leftovers > 0) logger.info({ removed: leftovers }, 'removed temp files left by an interrupted run');
    const journal = new TempJournal(journalFile, [token, stagingToken]);
    cleanups.push(() => journal.close());
    const fs = new FsMaterializer({ root, journal, token, fsyncFiles: config.durability === 'fsync' });

    // Large content is staged where a rename can move it into the target.
    const stagingDir = join(dirs.stateDir, 'staging');
    rmSync(stagingDir, { recursive: true, force: true });
    mkdirSync(stagingDir, { mode: 0o700 });
    const stageInState = statSync(stagingDir).dev === statSync(dirs.target).dev;
    let staged = 0;
    const stagingPath = stageInState
      ? () => join(stagingDir, String(staged++))
      : () => {
          journal.noteDir('');
          return root.abs(tempNameFor('staging', stagingToken, staged++));
        };

    const kafka = createKafka({ brokers: config.brokers, clientId: `mirrorlog-applier-${config.replica}`, logger });
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const topicCheck = await ensureTopic(admin, { topic: config.topic, partitions: config.partitions, historyWindowMs: config.historyWindow });
    if (topicCheck.drift.length > 0) logger.warn({ topic: config.topic, drift: topicCheck.drift }, 'topic settings differ from what mirrorlog would create');
    const dlqTopic = deadLetterTopic(config.topic, config.replica);
    await ensureDeadLetterTopic(admin, dlqTopic);
    const groupId = replicaGroupId(config.topic, config.replica);
    await adoptLegacyGroup(admin, config.topic, config.replica, logger);
    const offsets = await admin.fetchTopicOffsets(config.topic);
    const earliest = new Map(offsets.map((o) => [o.partition, Number(o.low)]));
    const latest = new Map(offsets.map((o) => [o.partition, Number(o.high)]));

    const start = decideStart(index, { root, rebuildRequested: config.rebuild, partitions: config.partitions, earliest, latest }, logger);
    const positions = new Positions();
    for (let partition = 0; partition < config.partitions; partition++) {
      positions.init(partition, start.positions.get(partition) ?? earliest.get(partition) ?? 0);
      positions.highWatermark(partition, latest.get(partition) ?? 0);
    }
    const rebuild = start.rebuild === undefined ? undefined : new RebuildController(start.rebuild, { index, fs, root, liveTokens: new Set([token, stagingToken]), metrics, logger, progressEveryMs: tuning.progressEveryMs });

    const store = options.store ?? new S3ContentStore({ ...s3OptionsFromConfig(config), logger });
    if (store instanceof S3ContentStore) cleanups.push(() => store.close());
    const deadLetters = new DeadLetterProducer(kafka, dlqTopic, config.topic, config.replica, logger);
    await deadLetters.connect();
    cleanups.push(() => deadLetters.disconnect());
    let source: KafkaRecordSource | undefined;
    const { supply, lane } = createApplierCore(
      {
        index,
        root,
        fs,
        store,
        stagingPath,
        positions,
        makeDurable: createDurability(config.durability, dirs.target, fs),
        afterIndexCommit: () => journal.reset(stageInState ? [] : ['']),
        commitOffsets: (committed) => source?.commit(committed),
        rebuild: () => rebuild,
        maintenance: {
          everyMs: 3_600_000,
          // Tombstones damp late events; twice the history window is long past any of them.
          run: () => index.pruneTombstones((Date.now() - 2 * config.historyWindow) * 1000, 10_000) === 10_000,
        },
        adoptPath: (path) => (rebuild?.active && rebuild.state.adopt ? root.abs(path) : undefined),
        now: Date.now,
        metrics,
        logger,
        deadLetter: (record, reason) => {
          metrics.deadLetters.inc({ reason: reason.code });
          const key = record.raw.key?.toString().slice(0, 300);
          logger.warn({ partition: record.partition, offset: record.offset, key, ...reason }, 'dead-lettering a record the applier cannot apply');
          positions.deadLetterSent(record.partition, record.offset, false);
          deadLetters.send({ partition: record.partition, offset: record.offset, raw: record.raw, ...reason }).then(
            () => positions.deadLetterSent(record.partition, record.offset, true),
            () => undefined, // closed first: not committed, so redelivered and dead-lettered again
          );
        },
      },
      { ...tuning, fetchConcurrency: config.fetchConcurrency, commitIntervalMs: config.commitInterval },
    );
    cleanups.push(() => supply.close());

    let rejectFailure: (error: Error) => void = () => undefined;
    const failure = new Promise<never>((_resolve, reject) => (rejectFailure = reject));
    failure.catch(() => undefined);
    let stopping: Promise<void> | undefined;
    let http: ServiceHttp | undefined;
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        logger.info('applier stopping');
        const attempt = (step: () => unknown) =>
          Promise.resolve()
            .then(step)
            .catch((error: unknown) => logger.warn({ err: error }, 'error while stopping'));
        source?.pause();
        await attempt(() => lane.stop());
        await attempt(() => source?.flushCommits(10_000));
        await attempt(() => source?.stop());
        for (const cleanup of cleanups.splice(0).reverse()) await attempt(cleanup);
        logger.info('applier stopped');
      })());

    source = new KafkaRecordSource({
      kafka,
      topic: config.topic,
      groupId,
      partitions: config.partitions,
      lane,
      positions,
      logger,
      sessionTimeoutMs: tuning.sessionTimeoutMs,
      onFatal: (error) => {
        logger.error({ err: error }, 'the Kafka consumer failed for good; stopping');
        void stop().finally(() => rejectFailure(error));
      },
    });
    const readiness = (): Readiness => {
      if (stopping !== undefined) return { ready: false, reason: 'stopping' };
      if (source?.assigned === undefined) return { ready: false, reason: 'waiting for partition assignment' };
      if (rebuild?.active) return { ready: false, reason: `rebuilding (${(rebuild.progressOf(positions.next()).ratio * 100).toFixed(1)}% replayed)` };
      if (lane.stalled !== undefined) return { ready: false, reason: `cannot apply: ${lane.stalled}` };
      return { ready: true };
    };
    http = await startServiceHttp({ host: config.metricsHost, port: config.metricsPort ?? DEFAULT_APPLIER_METRICS_PORT, registry, isReady: readiness, logger });
    cleanups.push(() => http?.close());
    const running = lane.start();
    running.catch((error: unknown) => {
      logger.error({ err: error }, 'the apply lane failed; stopping');
      void stop().finally(() => rejectFailure(error as Error));
    });
    try {
      await source.start();
    } catch (error) {
      await stop();
      throw error;
    }
    logger.info({ target: dirs.target, stateDir: dirs.stateDir, plan: start.plan, group: groupId }, 'applier consuming');
    return { replica: config.replica, stateDir: dirs.stateDir, target: dirs.target, port: http.port, registry, readiness, failure, stop };
  } catch (error) {
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
    throw error;
  }
}
