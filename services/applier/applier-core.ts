// The applier's core, built from its parts by one factory that the service and the tests
// (test/helpers/applier-lane-harness.ts) share: the content supply, the record applier and
// the apply lane, wired to each other. Kafka (the record source, the dead-letter producer)
// and the process (directories, HTTP, signals) stay in applier.ts.
import type { ContentStore } from '../shared/content-store.ts';
import type { Logger } from '../shared/logger.ts';
import { ContentSupply } from './adapters/content-supply.ts';
import type { ReplicaIndex } from './adapters/applied-index.ts';
import type { FsMaterializer } from './adapters/fs-materializer.ts';
import type { TargetRoot } from './adapters/target-root.ts';
import { ApplyLane, type ApplyLaneDeps, type ApplyLaneOptions } from './apply-lane.ts';
import type { ApplierMetrics } from './metrics.ts';
import type { Positions } from './positions.ts';
import { RecordApplier, type RecordApplierDeps } from './record-applier.ts';

/** The core's tunables, in one object (the service fills them from its config and DEFAULT_TUNING). */
export type ApplierCoreTuning = ApplyLaneOptions & {
  fetchConcurrency: number;
  maxBufferedBytes: number;
  largeThreshold: number;
  missingRetries: number;
  missingDelayMs: number;
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
  rebuild: ApplyLaneDeps['rebuild'];
  maintenance?: ApplyLaneDeps['maintenance'];
  /** What keeps the state directory from taking writes (full, read-only), if anything. */
  stateSpace?: ApplyLaneDeps['stateSpace'];
  deadLetter: RecordApplierDeps['deadLetter'];
  adoptPath: RecordApplierDeps['adoptPath'];
  now: () => number;
  metrics: ApplierMetrics;
  logger: Logger;
};

export type ApplierCore = { supply: ContentSupply; applier: RecordApplier; lane: ApplyLane };

export function createApplierCore(ports: ApplierCorePorts, tuning: ApplierCoreTuning): ApplierCore {
  const { index, root, metrics, logger } = ports;
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
  const applier = new RecordApplier({
    index,
    fs: ports.fs,
    supply,
    metrics,
    rebuilding: () => ports.rebuild()?.active === true,
    adoptPath: ports.adoptPath,
    now: ports.now,
    logger,
    deadLetter: ports.deadLetter,
  });
  const lane: ApplyLane = new ApplyLane(
    {
      index,
      applier,
      supply,
      positions: ports.positions,
      makeDurable: ports.makeDurable,
      afterIndexCommit: ports.afterIndexCommit,
      commitOffsets: ports.commitOffsets,
      rebuild: ports.rebuild,
      maintenance: ports.maintenance,
      ...(ports.stateSpace === undefined ? {} : { stateSpace: ports.stateSpace }),
      metrics,
      logger,
    },
    tuning,
  );
  return { supply, applier, lane };
}
