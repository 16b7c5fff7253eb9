// The applier service: materializes one replica from the log. Composition only; the
// work is in the apply lane (apply-lane.ts), the record applier, the content supply and
// the materializer. Start-up: directories and state, leftover temp files removed, health
// served, Kafka and S3 checked (waited for with one line per backoff step; what cannot
// heal is one line, exit 2), the topic checked (never created), the group checked for
// another applier (replica-guard.ts), the target checked against the tree's source
// (replica-registration.ts), resume-or-rebuild decided (replica-state.ts), then
// consumption starts.
//
// /readyz is ready once the consumer has its partitions, no rebuild is in progress (a
// replica mid-rebuild is not fit to take over) and the lane is not stalled on a failing
// filesystem.
import { randomBytes } from 'node:crypto';
import { replicaGroupId } from '../../schemas/names.ts';
import { adoptLegacyGroup } from './group-migration.ts';
import { existsSync, mkdirSync, rmdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ApplierConfig } from '../../schemas/config.ts';
import { deadLetterTopic } from '../../schemas/content-key.ts';
import { defaultStateDir, redactConfig, type Environment } from '../shared/config.ts';
import type { ContentStore } from '../shared/content-store.ts';
import { CliError } from '../shared/errors.ts';
import { startServiceHttp, type Readiness, type ServiceHttp } from '../shared/http-server.ts';
import { createKafka, describeTopicConfig, fetchTopicOffsets } from '../shared/kafka.ts';
import { kafkaClientSecurity } from '../shared/kafka-security.ts';
import { replicationFor } from '../shared/topic-replication.ts';
import { watchKafka } from '../shared/kafka-reachability.ts';
import { createLogger, type Logger } from '../shared/logger.ts';
import { classifyFailure, failureMessage } from '../shared/failure-kind.ts';
import { GuardedContentStore } from '../shared/guarded-content-store.ts';
import { createMetricsRegistry, type Registry } from '../shared/metrics.ts';
import { S3ContentStore, s3OptionsFromConfig } from '../shared/s3-content-store.ts';
import { waitForServer } from '../shared/start-errors.ts';
import { ContentSupply } from './adapters/content-supply.ts';
import { DeadLetterProducer } from './adapters/dead-letter-producer.ts';
import { FsMaterializer } from './adapters/fs-materializer.ts';
import { HealChannel } from './adapters/heal-channel.ts';
import { KafkaRecordSource } from './adapters/kafka-record-source.ts';
import { TargetRoot } from './adapters/target-root.ts';
import { TempJournal } from './adapters/temp-journal.ts';
import { ApplyLane } from './apply-lane.ts';
import { newRunToken } from './domain/temp-name.ts';
import { createDurability } from './durability.ts';
import { createApplierMetrics } from './metrics.ts';
import { Positions } from './positions.ts';
import { RebuildController } from './rebuild.ts';
import { RecordApplier } from './record-applier.ts';
import { ensureSoleApplier } from './replica-guard.ts';
import { registerApplier } from './replica-registration.ts';
import { checkKafka, checkStore, deadLetterTopicOnDemand, lastAppliedAt } from './start-checks.ts';
import { stateDirProblem } from './state-space.ts';
import { TEMP_JOURNAL_FILE, decideStart, openIndex, prepareDirectories, removeLeftoverTemps } from './replica-state.ts';

export const DEFAULT_APPLIER_METRICS_PORT = 9465;

/** Knobs below the configuration, for tests and benchmarks. */
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
  heartbeatMs: number;
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
  heartbeatMs: 15_000,
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
  const targetExisted = existsSync(resolve(config.target));
  const dirs = prepareDirectories(
    resolve(config.target),
    resolve(config.stateDir ?? defaultStateDir(config.replica, options.env)),
  );
  logger.info({ config: redactConfig({ ...config, ...dirs }) }, 'applier starting');
  const registry = createMetricsRegistry('applier');
  const metrics = createApplierMetrics(registry);
  metrics.info.set({ replica: config.replica, topic: config.topic }, 1);
  const root = new TargetRoot(dirs.target);
  const index = openIndex(dirs.stateDir, { replica: config.replica, topic: config.topic });
  const cleanups: (() => unknown)[] = [() => index.close(), () => root.close()];
  try {
    // Health is served from the start: while a server is unreachable, /readyz says which.
    let startingReason: string | undefined = 'starting';
    let readinessOnceStarted: () => Readiness = () => ({ ready: false, reason: 'starting' });
    const readiness = (): Readiness =>
      startingReason !== undefined ? { ready: false, reason: startingReason } : readinessOnceStarted();
    const http: ServiceHttp = await startServiceHttp({
      host: config.metricsHost,
      port: config.metricsPort ?? DEFAULT_APPLIER_METRICS_PORT,
      registry,
      isReady: readiness,
      logger,
      statusUrl: config.statusUrl,
    });
    cleanups.push(() => http.close());
    const stopRetrying = new AbortController();
    cleanups.push(() => stopRetrying.abort());
    const where = { kafka: config.brokers.join(','), s3: config.s3Endpoint };
    const waitingFor = (what: string) => ({
      what,
      where,
      logger,
      giveUpAfterMs: config.giveUpAfter,
      setReason: (reason: string | undefined) => (startingReason = reason ?? 'starting'),
    });
    const token = newRunToken();
    const journalFile = join(dirs.stateDir, TEMP_JOURNAL_FILE);
    const leftovers = removeLeftoverTemps(
      dirs.stateDir,
      new FsMaterializer({ root, journal: { noteDir: () => undefined }, token, fsyncFiles: false }),
    );
    if (leftovers > 0) logger.info({ removed: leftovers }, 'removed temp files left by an interrupted run');
    const journal = new TempJournal(journalFile, [token]);
    cleanups.push(() => journal.close());
    const fs = new FsMaterializer({
      root,
      journal,
      token,
      fsyncFiles: config.durability === 'fsync',
      allowSetid: config.allowSetid,
      onSetidStripped: () => metrics.setidStripped.inc(),
    });

    // Large content is staged in the state directory, which only the applier writes: never
    // in the replica, where anyone with write access could plant something at the next name.
    // Placing it is a rename when both share a filesystem, else a copy (atomic-write.ts).
    const stagingDir = join(dirs.stateDir, 'staging');
    rmSync(stagingDir, { recursive: true, force: true });
    mkdirSync(stagingDir, { mode: 0o700 });
    const stagingPath = () => join(stagingDir, randomBytes(12).toString('hex'));

    const kafka = createKafka({
      brokers: config.brokers,
      clientId: `mirrorlog-applier-${config.replica}`,
      logger,
      security: kafkaClientSecurity(config),
    });
    // An applier never creates the events topic: a mistyped --topic must not start an empty log.
    const drift = await waitForServer(() => checkKafka(config, logger), waitingFor(`Kafka at ${where.kafka}`));
    if (drift.length > 0)
      logger.warn({ topic: config.topic, drift }, 'topic settings differ from what mirrorlog would create');
    const innerStore = options.store ?? new S3ContentStore({ ...s3OptionsFromConfig(config), logger });
    if (innerStore instanceof S3ContentStore) cleanups.push(() => innerStore.close());
    await waitForServer(
      () => checkStore(config, options.store),
      waitingFor(`S3 at ${where.s3} (bucket ${config.bucket})`),
    );
    const store = new GuardedContentStore(innerStore, { logger, signal: stopRetrying.signal });
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const dlqTopic = deadLetterTopic(config.topic, config.replica);
    const replication = await replicationFor(admin, config);
    const eventsMaxMessageBytes = Number(
      (await describeTopicConfig(admin, config.topic, ['max.message.bytes'])).get('max.message.bytes') ?? 0,
    );
    // One applier per replica: refuse before anything could move the group's offsets.
    const groupId = replicaGroupId(config.topic, config.replica);
    await ensureSoleApplier(admin, {
      group: groupId,
      replica: config.replica,
      sessionTimeoutMs: tuning.sessionTimeoutMs,
      logger,
    });
    // Groups were named without the topic before: the old group's offsets carry over once.
    await adoptLegacyGroup(admin, config.topic, config.replica, logger);
    // Never a replica of its own source: refused before anything is written.
    await registerApplier(kafka, admin, {
      topic: config.topic,
      replica: config.replica,
      target: dirs.target,
      stateDir: dirs.stateDir,
    }).catch((error: unknown) => {
      // Refused: leave no trace in the source, not even the empty target this start made.
      if (!targetExisted) {
        try {
          rmdirSync(dirs.target);
        } catch {
          // not empty after all: left as it is
        }
      }
      throw error;
    });
    const offsets = await fetchTopicOffsets(admin, config.topic);
    const earliest = new Map(offsets.map((o) => [o.partition, o.low]));
    const latest = new Map(offsets.map((o) => [o.partition, o.high]));

    const start = decideStart(
      index,
      {
        root,
        rebuildRequested: config.rebuild,
        adoptRequested: config.adopt,
        partitions: config.partitions,
        earliest,
        latest,
        replica: config.replica,
        stateDir: dirs.stateDir,
      },
      logger,
    );
    const positions = new Positions();
    for (let partition = 0; partition < config.partitions; partition++) {
      positions.init(partition, start.positions.get(partition) ?? earliest.get(partition) ?? 0);
      positions.highWatermark(partition, latest.get(partition) ?? 0);
    }
    const rebuild =
      start.rebuild === undefined
        ? undefined
        : new RebuildController(start.rebuild, {
            index,
            fs,
            root,
            liveTokens: new Set([token]),
            metrics,
            logger,
            progressEveryMs: tuning.progressEveryMs,
          });

    const supply = new ContentSupply({
      store,
      localCandidates: (hash) => index.pathsWithHash(hash, 3),
      openLocal: (path) => root.openFile(path),
      stagingPath,
      concurrency: config.fetchConcurrency,
      maxBufferedBytes: tuning.maxBufferedBytes,
      largeThreshold: tuning.largeThreshold,
      missingRetries: tuning.missingRetries,
      missingDelayMs: tuning.missingDelayMs,
      logger,
      onSettled: () => lane?.wake(),
      onAcquired: (source, bytes) => {
        metrics.contentAcquired.inc({ source });
        metrics.contentBytes.inc({ source }, bytes);
      },
    });
    cleanups.push(() => supply.close());
    const heal = new HealChannel({
      kafka,
      topic: config.topic,
      replica: config.replica,
      store,
      waits: index,
      logger,
      onHealed: (records) => lane?.reapply(records),
      onWaiting: (count) => metrics.healWaiting.set(count),
    });
    cleanups.push(() => heal.close());
    const deadLetters = new DeadLetterProducer(kafka, dlqTopic, config.topic, config.replica, logger);
    await deadLetters.connect();
    cleanups.push(() => deadLetters.disconnect());
    // The dead-letter topic is made at the first dead letter, never at start.
    const ensureDeadLetters = deadLetterTopicOnDemand(admin, dlqTopic, {
      logger,
      signal: stopRetrying.signal,
      topicOptions: { eventsMaxMessageBytes, ...replication },
    });

    const applier = new RecordApplier({
      index,
      fs,
      supply,
      metrics,
      rebuilding: () => rebuild?.active === true,
      adoptPath: (path) => (rebuild?.active && rebuild.state.adopt ? path : undefined),
      now: Date.now,
      logger,
      deadLetter: (record, reason) => {
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
          {
            partition: record.partition,
            offset: record.offset,
            key: record.raw.key?.toString().slice(0, 300),
            ...reason,
          },
          'dead-lettering a record the applier cannot apply',
        );
        const { decoded } = record;
        if (
          (reason.code === 'content-missing' || reason.code === 'content-mismatch') &&
          decoded.ok &&
          decoded.event.op === 'file'
        ) {
          const { hash, size, path } = decoded.event;
          heal.request(record, { hash, size, path, reason: reason.code });
          metrics.healRequests.inc({ reason: reason.code });
        }
        positions.deadLetterSent(record.partition, record.offset, false);
        ensureDeadLetters()
          .then(() =>
            deadLetters.send({ partition: record.partition, offset: record.offset, raw: record.raw, ...reason }),
          )
          .then(
            () => positions.deadLetterSent(record.partition, record.offset, true),
            () => undefined, // closed first: not committed, so redelivered and dead-lettered again
          );
      },
    });
    const lane = new ApplyLane(
      {
        index,
        applier,
        supply,
        positions,
        makeDurable: createDurability(config.durability, dirs.target, fs),
        afterIndexCommit: () => journal.reset(),
        commitOffsets: (committed) => source?.commit(committed),
        rebuild: () => rebuild,
        maintenance: {
          everyMs: 3_600_000,
          // Tombstones damp late events; twice the history window is long past any of them.
          run: () => index.pruneTombstones((Date.now() - 2 * config.historyWindow) * 1000, 10_000) === 10_000,
        },
        stateSpace: () => stateDirProblem(dirs.stateDir),
        onReapplied: (record) => heal.settled(record),
        metrics,
        logger,
      },
      {
        prefetchWindow: tuning.prefetchWindow,
        commitIntervalMs: config.commitInterval,
        maxUncommitted: tuning.maxUncommitted,
        maxQueued: tuning.maxQueued,
        sliceMs: tuning.sliceMs,
      },
    );

    heal.resume();
    let rejectFailure: (error: Error) => void = () => undefined;
    const failure = new Promise<never>((_resolve, reject) => (rejectFailure = reject));
    failure.catch(() => undefined);
    let stopping: Promise<void> | undefined;
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

    const appliedAt = await lastAppliedAt(admin, groupId, config.topic);
    const source = new KafkaRecordSource({
      kafka,
      topic: config.topic,
      groupId,
      replica: config.replica,
      ...(appliedAt === undefined ? {} : { appliedAt }),
      partitions: config.partitions,
      lane,
      positions,
      logger,
      sessionTimeoutMs: tuning.sessionTimeoutMs,
      onFatal: (crash) => {
        // Refused by the broker (ACLs): final, one line, exit 2, as at start.
        const error =
          crash instanceof CliError || classifyFailure(crash) !== 'auth'
            ? crash
            : new CliError(
                `Kafka refused this applier: ${failureMessage(crash)}; check the broker's ACLs for this client`,
              );
        if (error instanceof CliError) logger.error(error.message);
        else logger.error({ err: error }, 'the Kafka consumer failed for good; stopping');
        void stop().finally(() => rejectFailure(error));
      },
    });
    const kafkaWatch = watchKafka(
      config.brokers,
      `mirrorlog-applier-${config.replica}`,
      logger,
      kafkaClientSecurity(config),
    );
    cleanups.push(() => kafkaWatch.stop());
    readinessOnceStarted = (): Readiness => {
      if (stopping !== undefined) return { ready: false, reason: 'stopping' };
      if (store.refusal !== undefined) return { ready: false, reason: store.refusal };
      const unreachable = kafkaWatch.problem;
      if (unreachable !== undefined) return { ready: false, reason: unreachable };
      if (source?.assigned === undefined) return { ready: false, reason: 'waiting for partition assignment' };
      if (rebuild?.active)
        return {
          ready: false,
          reason: `rebuilding (${(rebuild.progressOf(positions.next()).ratio * 100).toFixed(1)}% replayed)`,
        };
      if (lane?.stalled !== undefined) return { ready: false, reason: `cannot apply: ${lane.stalled}` };
      return { ready: true };
    };
    startingReason = undefined;
    source.seedPositions(positions.durable());
    // The heartbeat: `mirrorlog status` tells a live applier from a gone one, and sees what fails.
    const heartbeat = setInterval(() => source?.heartbeat(lane?.stalled ?? store.refusal), tuning.heartbeatMs);
    heartbeat.unref();
    cleanups.push(() => clearInterval(heartbeat));
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
    logger.info(
      { target: dirs.target, stateDir: dirs.stateDir, plan: start.plan, group: groupId },
      'applier consuming',
    );
    return {
      replica: config.replica,
      stateDir: dirs.stateDir,
      target: dirs.target,
      port: http.port,
      registry,
      readiness,
      failure,
      stop,
    };
  } catch (error) {
    for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve(cleanup()).catch(() => undefined);
    throw error;
  }
}
