// The producer service: wires the watcher, examiner, pipeline, reconciler, index, store
// and Kafka together. Start-up order matters: the watcher subscribes while the first
// reconcile walks, so nothing changed during the walk is missed, and the service is
// ready once both are done and everything found is published.
import { Accounts } from '../shared/accounts.ts';
import path from 'node:path';
import type { ProducerConfig } from '../../schemas/config.ts';
import { systemClock } from '../shared/clock.ts';
import type { ContentStore } from '../shared/content-store.ts';
import { defaultStateDir, redactConfig } from '../shared/config.ts';
import { CliError } from '../shared/errors.ts';
import { startServiceHttp, type Readiness, type ServiceHttp } from '../shared/http-server.ts';
import { createKafka } from '../shared/kafka.ts';
import { kafkaClientSecurity } from '../shared/kafka-security.ts';
import { createLogger, type Logger } from '../shared/logger.ts';
import { S3ContentStore, s3OptionsFromConfig } from '../shared/s3-content-store.ts';
import { ensureWritableStateDir, type WaitOptions } from '../shared/start-errors.ts';
import { inotifyWarnings, readInotifyLimits } from './adapters/inotify-limits.ts';
import { KafkaPublisher } from './adapters/kafka-publisher.ts';
import type { SqliteSourceIndex } from './adapters/sqlite-source-index.ts';
import { NodeSourceTree } from './adapters/node-source-tree.ts';
import { removeLeftoverSnapshots } from './adapters/snapshot-copies.ts';
import { RecordedRootIdentity } from './adapters/root-identity.ts';
import { confirmDeletesCommand } from './delete-hold.ts';
import { createExcluder } from './domain/exclude.ts';
import { createProducerMetrics, type ProducerMetrics } from './metrics.ts';
import { trackFirstPublication } from './first-publication.ts';
import { connectProducer } from './producer-connect.ts';
import { createProducerCore, producerTuning } from './producer-core.ts';
import { completeIndex, openIndex } from './producer-index-start.ts';
import { defaultSourceId, resolveRoot } from './producer-root.ts';
import { PERIODIC_TRIGGER } from './reconciler.ts';
import { checkIndexOwner } from './state-dir.ts';
import { watchKafka } from '../shared/kafka-reachability.ts';
import { HealResponder } from './heal-responder.ts';

export const DEFAULT_PRODUCER_METRICS_PORT = 9464;

export type ProducerHandle = {
  readonly source: string;
  readonly metrics: ProducerMetrics;
  /** The health/metrics port (useful with --metrics-port 0). */
  readonly port: number;
  /** Resolves once watching, reconciled and caught up; rejects if the start fails. */
  readonly ready: Promise<void>;
  /** Rejects when the running producer dies (after or during its start). */
  readonly failure: Promise<never>;
  /** Resolves when nothing is waiting to be examined or published. */
  whenIdle(): Promise<void>;
  stop(): Promise<void>;
};

export async function startProducer(
  config: ProducerConfig,
  options: { logger?: Logger; store?: ContentStore } = {},
): Promise<ProducerHandle> {
  const root = resolveRoot(config.root);
  const source = config.source ?? defaultSourceId(root);
  const stateDir = path.resolve(config.stateDir ?? defaultStateDir(source));
  if (stateDir === root || stateDir.startsWith(`${root}${path.sep}`)) {
    throw new CliError(`--state-dir ${stateDir} is inside --root ${root}: the producer would watch its own index`);
  }
  ensureWritableStateDir(stateDir);
  removeLeftoverSnapshots(stateDir);
  const logger = options.logger ?? createLogger({ level: config.logLevel, name: 'producer' });
  logger.info({ config: redactConfig({ ...config, root, stateDir }), source }, 'producer starting');

  const index = openIndex(path.join(stateDir, 'index.db'));
  const cleanups: (() => unknown)[] = [() => index.close()];
  try {
    return await startWithIndex(config, { root, source, stateDir, index, logger, store: options.store, cleanups });
  } catch (error) {
    // A failed start releases what it connected, or the process would not exit.
    for (const cleanup of cleanups.reverse())
      await Promise.resolve()
        .then(cleanup)
        .catch(() => undefined);
    throw error;
  }
}

type StartContext = {
  root: string;
  source: string;
  stateDir: string;
  index: SqliteSourceIndex;
  logger: Logger;
  store: ContentStore | undefined;
  cleanups: (() => unknown)[];
};

async function startWithIndex(config: ProducerConfig, context: StartContext): Promise<ProducerHandle> {
  const { root, source, index, logger, cleanups } = context;
  checkIndexOwner(index, { topic: config.topic, source, root });
  const metrics = createProducerMetrics();
  const kafka = createKafka({
    brokers: config.brokers,
    clientId: `mirrorlog-producer-${source}`,
    logger,
    security: kafkaClientSecurity(config),
  });
  const admin = kafka.admin();
  const store = context.store ?? new S3ContentStore({ ...s3OptionsFromConfig(config), logger });
  const publisher = new KafkaPublisher(kafka, config.topic, config.partitions);
  cleanups.push(
    () => admin.disconnect(),
    () => publisher.disconnect(),
  );
  // Health and metrics first: while the servers are awaited, /readyz says why.
  let startReason: string | undefined;
  let readiness: () => Readiness = () => ({ ready: false, reason: startReason ?? 'connecting' });
  const http: ServiceHttp = await startServiceHttp({
    host: config.metricsHost,
    port: config.metricsPort ?? DEFAULT_PRODUCER_METRICS_PORT,
    registry: metrics.registry,
    isReady: () => readiness(),
    logger,
    statusUrl: config.statusUrl,
  });
  cleanups.push(() => http.close());
  const where = { kafka: config.brokers.join(','), s3: config.s3Endpoint };
  const waitFor = (what: string): WaitOptions => ({
    what,
    where,
    logger,
    giveUpAfterMs: config.giveUpAfter,
    setReason: (reason: string | undefined) => (startReason = reason),
  });
  // Connecting overlaps with what needs no server: the watcher's crawl and the
  // reconcile walk against the index (examination starts once connected).
  const connected = connectProducer(config, {
    kafka,
    admin,
    store,
    publisher,
    source,
    root,
    stateDir: context.stateDir,
    logger,
    waitFor,
  });
  connected.catch(() => undefined); // observed through `ready`
  // Appliers' heal requests (heal-responder.ts): content found missing or corrupt in the store is uploaded again.
  const healResponder = new HealResponder({ kafka, admin, topic: config.topic, source, root, store, logger });
  connected
    .then(() => healResponder.start())
    .catch((error: unknown) => logger.warn({ err: error }, 'cannot answer heal requests'));
  // /readyz: not ready while Kafka is gone.
  const kafkaWatch = watchKafka(config.brokers, `mirrorlog-producer-${source}`, logger, kafkaClientSecurity(config));
  cleanups.push(() => kafkaWatch.stop());
  const lastSeq = await completeIndex(kafka, config, context, connected, waitFor);

  const tree = new NodeSourceTree(root, context.stateDir, config.watcher, () => systemClock.now());
  const isExcluded = createExcluder(config.exclude);
  const core = createProducerCore(
    {
      source,
      tree,
      index,
      store,
      send: (records) => publisher.send(records),
      clock: systemClock,
      lastSeq,
      isExcluded,
      excludeGlobs: config.exclude,
      metrics,
      logger,
      accounts: new Accounts(),
      attributes: { xattrs: config.xattrs, acl: config.acls },
      deleteGuard: {
        max: config.maxDelete,
        confirmed: config.confirmDeletes,
        confirmCommand: confirmDeletesCommand({ root, topic: config.topic, stateDir: context.stateDir }),
        rootIdentity: new RecordedRootIdentity(index, root),
      },
    },
    producerTuning(config),
  );
  let isReady = false;
  readiness = () => {
    if (!isReady) return { ready: false, reason: startReason ?? 'subscribing and reconciling' };
    const held = core.deletesHeld();
    if (held !== undefined) return { ready: false, reason: held };
    // Unreadable entries never hold readiness (M4), but whoever checks should hear of them.
    const unreadable = core.examiner.unreadableCount;
    const reason = unreadable === 0 ? undefined : `${unreadable} entries cannot be read and are skipped`;
    return kafkaWatch.readiness(reason === undefined ? { ready: true } : { ready: true, reason });
  };

  const startedAt = Date.now();
  const ready = (async () => {
    const bar = process.stderr.isTTY;
    const first = trackFirstPublication(index, { tree, isExcluded, metrics, logger, now: Date.now, bar });
    await core.start({ connected }).catch(async (error: unknown) => {
      await first?.stop(false);
      throw error;
    });
    await first?.stop(true);
    isReady = true;
    const counts = index.counts();
    metrics.indexEntries.set(counts.file + counts.dir + counts.symlink);
    if (core.watcherBackend() !== 'fanotify') {
      for (const warning of inotifyWarnings(readInotifyLimits(), counts.dir + 1)) logger.warn(warning);
    }
    logger.info({ seconds: (Date.now() - startedAt) / 1000, ...counts }, 'producer live: watching and caught up');
  })();
  ready.catch((error: unknown) => logger.error({ err: error }, 'producer failed to start'));
  const periodic = setInterval(() => core.reconcile(PERIODIC_TRIGGER), config.reconcileInterval);
  periodic.unref();

  let stopping: Promise<void> | undefined;
  return {
    source,
    metrics,
    port: http.port,
    ready,
    failure: core.failure,
    whenIdle: () => core.whenIdle(),
    stop: () =>
      (stopping ??= (async () => {
        logger.info('producer stopping');
        clearInterval(periodic);
        await core.stop();
        await kafkaWatch.stop();
        await healResponder.stop();
        await publisher.disconnect();
        await admin.disconnect();
        index.close();
        await http.close();
        logger.info('producer stopped');
      })()),
  };
}
