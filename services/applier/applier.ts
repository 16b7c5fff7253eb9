// The applier service: materializes one replica from the log. Composition only: the core
// (applier-core.ts: content supply, record applier, apply lane, rebuild) is built by the
// factory the tests use too, from ports this file makes real. Start-up: directories and
// state, leftover temp files removed, health served, the guarded checks (guarded-start.ts:
// servers, topic, one applier per replica, the target against the source), resume or
// rebuild decided (replica-state.ts), then consumption starts. /readyz follows
// readiness.ts.
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ApplierConfig } from '../../schemas/config.ts';
import { monotonicClock, systemClock } from '../shared/clock.ts';
import { defaultStateDir, redactConfig, type Environment } from '../shared/config.ts';
import type { ContentStore } from '../shared/content-store.ts';
import { CliError } from '../shared/errors.ts';
import { classifyFailure, failureMessage } from '../shared/failure-kind.ts';
import { startServiceHttp, type Readiness, type ServiceHttp } from '../shared/http-server.ts';
import { watchKafka } from '../shared/kafka-reachability.ts';
import { kafkaClientSecurity } from '../shared/kafka-security.ts';
import { createLogger, type Logger } from '../shared/logger.ts';
import { createMetricsRegistry, type Registry } from '../shared/metrics.ts';
import { KafkaRecordSource } from './adapters/kafka-record-source.ts';
import { TargetRoot } from './adapters/target-root.ts';
import { applierCoreTuning, createApplierCore, type ApplierCoreTuning } from './applier-core.ts';
import { createDurability } from './durability.ts';
import { checkServersAndReplica } from './guarded-start.ts';
import { deadLetterPorts, prepareReplicaFiles, startPositions } from './applier-ports.ts';
import { createApplierMetrics } from './metrics.ts';
import { applierReadiness } from './readiness.ts';
import { lastAppliedAt } from './start-checks.ts';
import { stateDirProblem } from './state-space.ts';
import { decideStart, openIndex, prepareDirectories } from './replica-state.ts';

export const DEFAULT_APPLIER_METRICS_PORT = 9465;

/** Every tunable of the applier, in one object: the core's, and the consumer's. */
export type ApplierTuning = ApplierCoreTuning & {
  sessionTimeoutMs: number;
  /** How often the group hears that this applier is alive (what `mirrorlog status` reads). */
  heartbeatMs: number;
};

/** The tuning for a configuration; `overrides` are for tests and benchmarks. */
export function applierTuning(config: ApplierConfig, overrides: Partial<ApplierTuning> = {}): ApplierTuning {
  return { ...applierCoreTuning(config), sessionTimeoutMs: 10_000, heartbeatMs: 15_000, ...overrides };
}

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
  const tuning = applierTuning(config, options.tuning);
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
    const { token, journal, fs, stagingPath } = prepareReplicaFiles(config, dirs, root, metrics, logger, cleanups);

    const servers = await checkServersAndReplica(config, {
      dirs,
      targetExisted,
      store: options.store,
      sessionTimeoutMs: tuning.sessionTimeoutMs,
      logger,
      setReason: (reason) => (startingReason = reason ?? 'starting'),
      signal: stopRetrying.signal,
      cleanups,
    });
    const { kafka, admin, store, groupId, earliest, latest } = servers;
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
    const positions = startPositions(config.partitions, start.positions, earliest, latest);

    // The Kafka side of the core's ports. Two links close the loop, both called only once
    // consuming, when all is built: the heal channel hands records back to the lane, and
    // the lane commits through the record source (made below, as it feeds the lane).
    const { heal, deadLetters } = await deadLetterPorts(config, servers, {
      logger,
      signal: stopRetrying.signal,
      cleanups,
      onHealed: (records) => core.lane.reapply(records),
      waits: index,
      onWaiting: (count) => metrics.healWaiting.set(count),
    });
    const core = createApplierCore(
      {
        index,
        root,
        fs,
        store,
        stagingPath,
        positions,
        makeDurable: createDurability(config.durability, dirs.target, fs),
        afterIndexCommit: () => journal.reset(),
        commitOffsets: (committed) => source.commit(committed),
        ...(start.rebuild === undefined ? {} : { rebuild: { state: start.rebuild, liveTokens: new Set([token]) } }),
        stateSpace: () => stateDirProblem(dirs.stateDir),
        deadLetters,
        heal,
        now: () => systemClock.now(),
        clock: monotonicClock,
        metrics,
        logger,
      },
      tuning,
    );
    const { lane, supply, rebuild } = core;
    cleanups.push(() => supply.close());

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
        source.pause();
        await attempt(() => lane.stop());
        await attempt(() => source.flushCommits(10_000));
        await attempt(() => source.stop());
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
        const error = consumerFailure(crash);
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
    readinessOnceStarted = () =>
      applierReadiness({
        stopping: stopping !== undefined,
        storeRefusal: store.refusal,
        kafkaProblem: kafkaWatch.problem,
        assigned: source.assigned !== undefined,
        rebuildRatio: rebuild?.active === true ? rebuild.progressOf(positions.next()).ratio : undefined,
        stalled: lane.stalled,
      });
    startingReason = undefined;
    source.seedPositions(positions.durable());
    heal.resume();
    // The heartbeat: `mirrorlog status` tells a live applier from a gone one, and sees what fails.
    const heartbeat = setInterval(() => source.heartbeat(lane.stalled ?? store.refusal), tuning.heartbeatMs);
    heartbeat.unref();
    cleanups.push(() => clearInterval(heartbeat));
    lane.start().catch((error: unknown) => {
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

/** Refused by the broker (ACLs): final, one line, exit 2, as at start; anything else as it is. */
function consumerFailure(crash: Error): Error {
  if (crash instanceof CliError || classifyFailure(crash) !== 'auth') return crash;
  return new CliError(`Kafka refused this applier: ${failureMessage(crash)}; check the broker's ACLs for this client`);
}
