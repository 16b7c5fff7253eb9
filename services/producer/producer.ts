// The producer service: wires the watcher, examiner, pipeline, reconciler, index, store
// and Kafka together. Start-up order matters: the watcher subscribes while the first
// reconcile walks, so nothing changed during the walk is missed, and the service is
// ready once both are done and everything found is published.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ProducerConfig } from '../../schemas/config.ts';
import type { ContentStore } from '../shared/content-store.ts';
import { defaultStateDir, redactConfig } from '../shared/config.ts';
import { CliError } from '../shared/errors.ts';
import { startServiceHttp, type ServiceHttp } from '../shared/http-server.ts';
import { createKafka, ensureTopic, MAX_BATCH_BYTES } from '../shared/kafka.ts';
import { createLogger, type Logger } from '../shared/logger.ts';
import { S3ContentStore, s3OptionsFromConfig } from '../shared/s3-content-store.ts';
import { inotifyWarnings, readInotifyLimits } from './adapters/inotify-limits.ts';
import { KafkaPublisher } from './adapters/kafka-publisher.ts';
import { loadNativeScan } from './adapters/native-scan.ts';
import { SqliteSourceIndex } from './adapters/sqlite-source-index.ts';
import { createExcluder } from './domain/exclude.ts';
import { SeqClock } from './domain/seq-clock.ts';
import { Examiner } from './examiner.ts';
import { NewDirectoryWalker } from './new-dir-walker.ts';
import { INDEX_COMPLETE_KEY, rebuildIndexFromTopic } from './index-rebuild.ts';
import { createProducerMetrics, type ProducerMetrics } from './metrics.ts';
import { Pipeline } from './pipeline.ts';
import { LAST_SEQ_KEY, PublishStage } from './publish-stage.ts';
import { Reconciler, START_TRIGGER } from './reconciler.ts';
import { checkIndexOwner } from './state-dir.ts';
import { Uploader } from './uploader.ts';
import { openSourceWatcher } from './watch/open-watcher.ts';

export const DEFAULT_PRODUCER_METRICS_PORT = 9464;
/** How far walks (reconcile, new directories) may run ahead of the examination of what they found. */
const HINTS_AHEAD = 20_000;

export type ProducerHandle = {
  readonly source: string;
  readonly metrics: ProducerMetrics;
  /** The health/metrics port (useful with --metrics-port 0). */
  readonly port: number;
  /** Resolves once watching, reconciled and caught up. */
  readonly ready: Promise<void>;
  /** Resolves when nothing is waiting to be examined or published. */
  whenIdle(): Promise<void>;
  stop(): Promise<void>;
};

/** A stable id for a root on this host: `<hostname>-<8 hex of the root path>`. */
export function defaultSourceId(root: string): string {
  const host = os.hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 60) || 'host';
  return `${host}-${createHash('sha256').update(root).digest('hex').slice(0, 8)}`;
}

function resolveRoot(root: string): string {
  const resolved = path.resolve(root);
  let stats: fs.Stats;
  try {
    stats = fs.statSync(resolved);
  } catch {
    throw new CliError(`--root ${resolved} does not exist`);
  }
  if (!stats.isDirectory()) throw new CliError(`--root ${resolved} is not a directory`);
  return fs.realpathSync(resolved);
}

export async function startProducer(config: ProducerConfig, options: { logger?: Logger; store?: ContentStore } = {}): Promise<ProducerHandle> {
  const root = resolveRoot(config.root);
  const source = config.source ?? defaultSourceId(root);
  const stateDir = path.resolve(config.stateDir ?? defaultStateDir(source));
  if (stateDir === root || stateDir.startsWith(`${root}${path.sep}`)) {
    throw new CliError(`--state-dir ${stateDir} is inside --root ${root}: the producer would watch its own index`);
  }
  fs.mkdirSync(stateDir, { recursive: true });
  const logger = options.logger ?? createLogger({ level: config.logLevel, name: 'producer' });
  logger.info({ config: redactConfig({ ...config, root, stateDir }), source }, 'producer starting');

  const index = new SqliteSourceIndex(path.join(stateDir, 'index.db'));
  const cleanups: (() => unknown)[] = [() => index.close()];
  try {
    return await startWithIndex(config, { root, source, index, logger, store: options.store, cleanups });
  } catch (error) {
    // A failed start releases what it connected, or the process would not exit.
    for (const cleanup of cleanups.reverse()) await Promise.resolve().then(cleanup).catch(() => undefined);
    throw error;
  }
}

type StartContext = { root: string; source: string; index: SqliteSourceIndex; logger: Logger; store: ContentStore | undefined; cleanups: (() => unknown)[] };

async function startWithIndex(config: ProducerConfig, context: StartContext): Promise<ProducerHandle> {
  const { root, source, index, logger, cleanups } = context;
  checkIndexOwner(index, { topic: config.topic, source, root });
  const metrics = createProducerMetrics();
  const kafka = createKafka({ brokers: config.brokers, clientId: `mirrorlog-producer-${source}`, logger });
  const admin = kafka.admin();
  const store = context.store ?? new S3ContentStore({ ...s3OptionsFromConfig(config), logger });
  const publisher = new KafkaPublisher(kafka, config.topic);
  cleanups.push(
    () => admin.disconnect(),
    () => publisher.disconnect(),
  );
  // Connecting overlaps with what needs no server: the watcher's crawl and the
  // reconcile walk against the index (examination starts once connected).
  const connected = (async () => {
    await admin.connect();
    await ensureTopic(admin, { topic: config.topic, partitions: config.partitions, historyWindowMs: config.historyWindow });
    if (store instanceof S3ContentStore) await store.ensureBucket();
    await publisher.connect();
  })();
  connected.catch(() => undefined); // observed through `ready`

  let lastSeq = Number(index.getMeta(LAST_SEQ_KEY) ?? 0);
  if (index.getMeta(INDEX_COMPLETE_KEY) !== 'true') {
    await connected;
    const rebuilt = await rebuildIndexFromTopic(kafka, config.topic, source, index, logger);
    if (rebuilt.otherSources.length > 0) {
      // One topic per mirrored tree: a replica of this topic would mix both trees.
      throw new CliError(
        `topic '${config.topic}' already holds the tree of source ${rebuilt.otherSources.map((s) => `'${s}'`).join(', ')}; each mirrored tree needs its own topic (--topic), or pass that --source if this is the same tree`,
      );
    }
    lastSeq = Math.max(lastSeq, rebuilt.maxSeq);
    index.transaction(() => {
      index.setMeta(LAST_SEQ_KEY, String(lastSeq));
      index.setMeta(INDEX_COMPLETE_KEY, 'true');
    });
  }
  const isExcluded = createExcluder(config.exclude);
  const clock = new SeqClock(lastSeq, () => Date.now() * 1000);
  let reconciler: Reconciler | undefined;
  const { watcher, reason: watcherReason } = openSourceWatcher(config.watcher, {
    root,
    exclude: config.exclude,
    isExcluded,
    logger,
    events: {
      onHints: (hints) => {
        for (const { path: changed } of hints) pipeline.hint(changed);
      },
      onOverflow: (why) => {
        metrics.watcherOverflows.inc({ backend: watcher.backend });
        logger.warn({ backend: watcher.backend }, `${why}: events were lost; reconciling`);
        void reconciler?.run('watcher-overflow');
      },
      onError: (error) => {
        metrics.errors.inc({ kind: 'watcher' });
        logger.warn({ err: error }, 'watcher error; reconciling');
        void reconciler?.run('watcher-error');
      },
    },
  });
  cleanups.push(() => watcher.stop());
  logger.info({ backend: watcher.backend, reason: watcherReason }, `watching with ${watcher.backend}`);
  metrics.watcherBackend.set({ backend: watcher.backend }, 1);
  metrics.observeWatcher(() => watcher.status());
  const hint = (p: string, delayMs?: number) => pipeline.hint(p, delayMs);
  const roomForHints = (): Promise<void> => pipeline.roomForHints(HINTS_AHEAD);
  const newDirectories: NewDirectoryWalker = new NewDirectoryWalker(root, hint, roomForHints, () => pipeline.poke());
  const examiner = new Examiner({
    root,
    inlineMaxBytes: config.inlineMaxBytes,
    index,
    uploader: new Uploader(store, (hash) => index.hasHash(hash), metrics),
    isExcluded,
    metrics,
    logger,
    hint,
    watchSubtree: (dir, changedAtMs) => watcher.newSubtree(dir, changedAtMs),
    beforeListing: (dir) => watcher.beforeListing(dir),
    walkNewDirectory: (dir) => newDirectories.add(dir),
  });
  const publishStage = new PublishStage({ root, source, index, clock, send: (records) => publisher.send(records), metrics, now: Date.now, hint });
  const pipeline: Pipeline = new Pipeline(
    examiner,
    publishStage,
    { quietMs: config.quietWindow, workers: config.uploadConcurrency, maxPending: config.maxPending, maxPendingBytes: 2 * MAX_BATCH_BYTES, maxHints: 500_000, maxBatch: 2000, maxBatchBytes: MAX_BATCH_BYTES / 2 },
    metrics,
    logger,
    Date.now,
    () => void reconciler?.run('dropped-hints'),
    () => newDirectories.busy,
  );
  reconciler = new Reconciler({ root, index, isExcluded, hint, metrics, logger, rate: config.reconcileRate, roomForHints, beforeListing: (dir) => watcher.beforeListing(dir), scanDirectory: loadNativeScan() });

  let isReady = false;
  const http: ServiceHttp = await startServiceHttp({
    host: config.metricsHost,
    port: config.metricsPort ?? DEFAULT_PRODUCER_METRICS_PORT,
    registry: metrics.registry,
    isReady: () => (isReady ? { ready: true } : { ready: false, reason: 'subscribing and reconciling' }),
    logger,
  });

  const startedAt = Date.now();
  const ready = (async () => {
    await Promise.all([
      connected.then(() => pipeline.start()),
      watcher.start().then(() => watcher.backend === 'parcel' && metrics.watcherSubscriptions.set(watcher.status().watched)),
      reconciler.run(START_TRIGGER),
    ]);
    await pipeline.whenIdle();
    isReady = true;
    const counts = index.counts();
    metrics.indexEntries.set(counts.file + counts.dir + counts.symlink);
    if (watcher.backend !== 'fanotify') for (const warning of inotifyWarnings(readInotifyLimits(), counts.dir + 1)) logger.warn(warning);
    logger.info({ seconds: (Date.now() - startedAt) / 1000, ...counts }, 'producer live: watching and caught up');
  })();
  ready.catch((error: unknown) => logger.error({ err: error }, 'producer failed to start'));
  const periodic = setInterval(() => void reconciler?.run('periodic'), config.reconcileInterval);
  periodic.unref();

  let stopping: Promise<void> | undefined;
  return {
    source,
    metrics,
    port: http.port,
    ready,
    whenIdle: () => pipeline.whenIdle(),
    stop: () =>
      (stopping ??= (async () => {
        logger.info('producer stopping');
        clearInterval(periodic);
        reconciler?.stop();
        await watcher.stop();
        await pipeline.stop();
        await publisher.disconnect();
        await admin.disconnect();
        index.close();
        await http.close();
        logger.info('producer stopped');
      })()),
  };
}
