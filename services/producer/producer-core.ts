// The producer's core, built from its ports by one factory that the service and the tests
// (the model test above all) share: watcher → pipeline (examiner, publish stage) → index,
// with the reconcile walk and the new-directory walker feeding the same pipeline. No I/O
// happens here but through the ports; time comes from the injected clock.
//
// Start-up order matters: the watcher subscribes while the first reconcile walks, so
// nothing changed during the walk is missed, and the core is live once both are done and
// everything found is published.
import { RecentDirs } from './domain/recent-dirs.ts';
import type { Accounts } from '../shared/accounts.ts';
import { carriesAttributes, type AttributeScope } from '../shared/attributes.ts';
import { DirTimeHints } from './dir-time-hints.ts';
import type { EncodedRecord } from '../../schemas/codec.ts';
import type { ProducerConfig } from '../../schemas/config.ts';
import type { Clock } from '../shared/clock.ts';
import type { ContentStore } from '../shared/content-store.ts';
import { MAX_BATCH_BYTES } from '../shared/kafka.ts';
import type { Logger } from '../shared/logger.ts';
import { countIndexDeletes, DeleteHold } from './delete-hold.ts';
import type { MaxDelete } from './domain/delete-guard.ts';
import type { Excluder } from './domain/exclude.ts';
import { SeqClock } from './domain/seq-clock.ts';
import { Examiner } from './examiner.ts';
import type { ProducerMetrics } from './metrics.ts';
import { NewDirectoryWalker } from './new-dir-walker.ts';
import { Pipeline } from './pipeline.ts';
import type { PipelineOptions } from './pipeline-deps.ts';
import type { SourceIndex } from './ports/source-index.ts';
import type { SourceTree, TreeWatch, WatchHint } from './ports/source-tree.ts';
import { PublishStage } from './publish-stage.ts';
import { Reconciler, START_TRIGGER } from './reconciler.ts';
import { Uploader } from './uploader.ts';

/** Every tunable of the producer, in one object. */
export type ProducerTuning = PipelineOptions & {
  /** Files up to this size travel inside their record. */
  inlineMaxBytes: number;
  /** Entries per second for walks while live (the start-up walk runs at full speed). */
  reconcileRate: number;
  /** How far walks (reconcile, new directories) may run ahead of the examination of what they found. */
  hintsAhead: number;
};

export function producerTuning(config: ProducerConfig): ProducerTuning {
  return {
    quietMs: config.quietWindow,
    workers: config.uploadConcurrency,
    maxPending: config.maxPending,
    maxPendingBytes: 2 * MAX_BATCH_BYTES,
    maxHints: 500_000,
    maxBatch: 2000,
    maxBatchBytes: MAX_BATCH_BYTES / 2,
    maxUnstableMs: 30_000,
    inlineMaxBytes: config.inlineMaxBytes,
    reconcileRate: config.reconcileRate,
    hintsAhead: 20_000,
  };
}

export type ProducerPorts = {
  source: string;
  tree: SourceTree;
  index: SourceIndex;
  store: ContentStore;
  /** Sends one batch of records to the topic; resolves once acknowledged. */
  send: (records: readonly EncodedRecord[]) => Promise<void>;
  clock: Clock;
  /** Wall-clock microseconds for seqs (defaults to the clock's ms × 1000). */
  nowMicros?: () => number;
  lastSeq: number;
  isExcluded: Excluder;
  /** Globs for watchers that can leave excluded trees unwatched. */
  excludeGlobs: string[];
  metrics: ProducerMetrics;
  logger: Logger;
  /** The mass-deletion guard (delete-hold.ts); without it every delete is published. */
  deleteGuard?: DeleteGuardPorts;
  /** Owner names for the ids lstat gives (without: ids only). */
  accounts?: Pick<Accounts, 'userName' | 'groupName'>;
  /** Which attributes travel (--xattrs, --acls); without: none. */
  attributes?: AttributeScope;
};

export type DeleteGuardPorts = {
  max: MaxDelete;
  /** --confirm-deletes: what this start's walk finds is published whatever its size. */
  confirmed: boolean;
  confirmCommand: string;
  rootIdentity: { changed(): string | undefined; accept(): void };
};

export type ProducerCore = {
  readonly pipeline: Pipeline;
  readonly reconciler: Reconciler;
  readonly examiner: Examiner;
  /** Subscribes, walks, starts the pipeline; resolves once all found is published. */
  start(options?: { connected?: Promise<void> }): Promise<void>;
  /** Whether nothing is queued, examined, walked or unpublished. */
  isIdle(): boolean;
  whenIdle(): Promise<void>;
  /** Asks for a reconcile walk (periodic, operator, test). */
  reconcile(trigger: string): void;
  /** Why deletes are held by the mass-deletion guard, if they are. */
  deletesHeld(): string | undefined;
  /** The running watcher's backend, once watching. */
  watcherBackend(): string | undefined;
  /** Rejects when a part of the core dies after start (a walk that failed). */
  readonly failure: Promise<never>;
  stop(): Promise<void>;
};

export function createProducerCore(ports: ProducerPorts, tuning: ProducerTuning): ProducerCore {
  const { tree, index, metrics, logger, clock } = ports;
  const seqClock = new SeqClock(ports.lastSeq, ports.nowMicros ?? (() => clock.now() * 1000));
  let watchStarted!: (watch: Promise<TreeWatch>) => void;
  const watching = new Promise<TreeWatch>((resolve) => (watchStarted = (watch) => resolve(watch)));
  const hint = (path: string, delayMs?: number) => pipeline.hint(path, delayMs);
  const roomForHints = () => pipeline.roomForHints(tuning.hintsAhead);
  // Which attributes the examiner reads and the walks compare (none without --xattrs, --acls).
  const carried = carriesAttributes(ports.attributes) ? { attributes: ports.attributes } : {};
  const walker = new NewDirectoryWalker({ tree, hint, roomForHints, onDrained: () => pipeline.poke(), logger });
  const examiner = new Examiner({
    tree,
    inlineMaxBytes: tuning.inlineMaxBytes,
    index,
    uploader: new Uploader(
      ports.store,
      (hash) => index.hasHash(hash),
      metrics,
      () => clock.now(),
    ),
    isExcluded: ports.isExcluded,
    metrics,
    logger,
    hint,
    ...(ports.accounts === undefined ? {} : { accounts: ports.accounts }),
    ...carried,
    watchSubtree: async (dir, changedAtMs) => {
      const watch = await watching;
      const subscribed = await watch.watchSubtree(dir, changedAtMs);
      metrics.watcherSubscriptions.set(watch.subscriptionCount);
      // What changed below before the subscription was active was not reported.
      if (subscribed) await reconciler.checkSubtree(dir);
    },
    walkNewDirectory: (dir, watched) => walker.add(dir, watched),
    // Decided when the path is examined and found gone, not when a (perhaps late) delete is
    // reported: a directory recreated meanwhile keeps the watch placed for it.
    forgetWatches: (dir) => void watching.then((watch) => watch.forget(dir)).catch(() => undefined),
  });
  const publishStage = new PublishStage({
    tree,
    source: ports.source,
    index,
    seqClock,
    send: ports.send,
    metrics,
    clock,
    hint,
  });
  const reconciler: Reconciler = new Reconciler({
    tree,
    index,
    isExcluded: ports.isExcluded,
    hint,
    metrics,
    logger,
    rate: tuning.reconcileRate,
    roomForHints,
    clock,
    onWalkStart: () => pipeline.takeDroppedHints(),
    ...carried,
  });
  const guard = ports.deleteGuard;
  const deleteHold =
    guard === undefined
      ? undefined
      : new DeleteHold({
          max: guard.max,
          confirmed: guard.confirmed,
          confirmCommand: guard.confirmCommand,
          countDeletes: (observation) => countIndexDeletes(index, observation),
          isCreate: (observation) => observation.observed !== undefined && index.get(observation.path) === undefined,
          isBusy: () => walker.busy || pipeline.queuedHints > 0,
          treeEntries: () => index.countBelow(''),
          isWalking: () => reconciler.walking,
          identityChanged: () => guard.rootIdentity.changed(),
          acceptIdentity: () => guard.rootIdentity.accept(),
          requeue: (observations) => pipeline.requeue(observations),
          rehint: hint,
          changed: () => pipeline.poke(),
          metrics,
          logger,
          now: () => clock.now(),
        });
  const pipeline: Pipeline = new Pipeline(
    {
      examiner,
      publisher: publishStage,
      metrics,
      logger,
      clock,
      onHintsDropped: () => reconciler.request('dropped-hints'),
      hasPendingWalks: () => walker.busy,
      ...(deleteHold === undefined ? {} : { deletes: deleteHold }),
    },
    tuning,
  );
  const failure = new Promise<never>((_, reject) => reconciler.onFailure(reject));
  failure.catch(() => undefined); // observed by whoever runs the core
  const dirTimes = new DirTimeHints(clock, (dir) => pipeline.hint(dir));
  const recentDirs = new RecentDirs();
  const onHints = (hints: WatchHint[]) => {
    for (const { path, type } of hints) {
      pipeline.hint(path);
      recentDirs.note(path);
      if (type !== 'update') dirTimes.entryChanged(path);
    }
  };
  const onError = (error: Error) => {
    metrics.errors.inc({ kind: 'watcher' });
    logger.warn({ err: error }, 'watcher error; reconciling');
    reconciler.request('watcher-error', recentDirs.take());
  };
  const onOverflow = (reason: string) => {
    void watching.then((watch) => metrics.watcherOverflows.inc({ backend: watch.backend }));
    const first = recentDirs.take();
    logger.warn(
      { first: first.length },
      `${reason}: events were lost; reconciling, the directories busy just before first`,
    );
    reconciler.request('watcher-overflow', first);
  };
  watching.catch(() => undefined); // observed through start()
  let backend: string | undefined;
  void watching.then((watch) => (backend = watch.backend)).catch(() => undefined);
  let started = false;
  return {
    pipeline,
    reconciler,
    examiner,
    failure,
    async start(options = {}) {
      started = true;
      watchStarted(
        tree.watch(
          { onHints, onError, onOverflow },
          { ignore: ports.excludeGlobs, isExcluded: ports.isExcluded, logger },
        ),
      );
      await Promise.all([
        (options.connected ?? Promise.resolve()).then(() => pipeline.start()),
        watching.then((watch) => {
          logger.info({ backend: watch.backend, reason: watch.reason }, `watching with ${watch.backend}`);
          metrics.watcherBackend.set({ backend: watch.backend }, 1);
          // From 0, not absent until the first overflow: increase() in an alert sees that first one too.
          metrics.watcherOverflows.inc({ backend: watch.backend }, 0);
          metrics.observeWatcher(() => watch.status());
          metrics.watcherSubscriptions.set(watch.subscriptionCount);
        }),
        reconciler.run(START_TRIGGER).then(() => deleteHold?.startWalkFinished()),
      ]);
      await pipeline.whenIdle();
      deleteHold?.startSettled();
    },
    isIdle: () => pipeline.isIdle() && !reconciler.busy && !walker.busy,
    whenIdle: () => pipeline.whenIdle(),
    reconcile: (trigger) => reconciler.request(trigger),
    deletesHeld: () => deleteHold?.reason,
    watcherBackend: () => backend,
    async stop() {
      dirTimes.stop();
      reconciler.stop();
      deleteHold?.stop();
      if (started) await (await watching.catch(() => undefined))?.stop();
      await pipeline.stop();
    },
  };
}
