// Opening a replica's state at start: the index in the state directory, checked to
// belong to this replica and topic, the temp files a crash left behind removed, and the
// decision (domain/rebuild-policy.ts) to resume or rebuild carried out.
import { mkdirSync, readdirSync, realpathSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { CliError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { ReplicaIndex } from './adapters/applied-index.ts';
import type { FsMaterializer } from './adapters/fs-materializer.ts';
import { INDEX_FILE_NAME, SqliteAppliedIndex } from './adapters/sqlite-applied-index.ts';
import type { TargetRoot } from './adapters/target-root.ts';
import { readTempJournal } from './adapters/temp-journal.ts';
import { POSITIONS_META } from './apply-lane.ts';
import { planStart, type StartPlan } from './domain/rebuild-policy.ts';
import { isTempName } from './domain/temp-name.ts';
import { positionsFromJson, positionsToJson } from './positions.ts';
import { REBUILD_META, type RebuildState } from './rebuild.ts';
import { REPLICA_META_KEY } from '../../schemas/names.ts';

const IDENTITY_META = REPLICA_META_KEY.identity;
const EPOCH_META = REPLICA_META_KEY.epoch;
export const TEMP_JOURNAL_FILE = 'temp-dirs.journal';

type Identity = { replica: string; topic: string };

function isInside(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep));
}

/** Creates both directories and refuses a state directory inside the target (a sweep would delete it) or around it. */
export function prepareDirectories(target: string, stateDir: string): { target: string; stateDir: string } {
  mkdirSync(target, { recursive: true });
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const realTarget = realpathSync(target);
  const realState = realpathSync(stateDir);
  if (isInside(realState, realTarget) || isInside(realTarget, realState)) {
    throw new CliError(`the state directory (${realState}) and the target (${realTarget}) must not contain one another; set --state-dir elsewhere`);
  }
  return { target: realTarget, stateDir: realState };
}

export function openIndex(stateDir: string, identity: Identity): ReplicaIndex {
  let index: SqliteAppliedIndex;
  try {
    index = new SqliteAppliedIndex(join(stateDir, INDEX_FILE_NAME));
  } catch (error) {
    const code = (error as { code?: string }).code ?? '';
    if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED')) {
      throw new CliError(`another applier is using the state directory ${stateDir}`);
    }
    throw error;
  }
  const stored = index.readMeta<Identity>(IDENTITY_META);
  if (stored !== undefined && (stored.replica !== identity.replica || stored.topic !== identity.topic)) {
    index.close();
    throw new CliError(
      `the state directory ${stateDir} belongs to replica '${stored.replica}' of topic '${stored.topic}', not '${identity.replica}' of '${identity.topic}'; use another --state-dir`,
    );
  }
  if (stored === undefined) index.writeMeta(IDENTITY_META, identity);
  return index;
}

/** Removes the temp files a previous run may have left (see temp-journal.ts); returns how many. */
export function removeLeftoverTemps(stateDir: string, fs: FsMaterializer): number {
  const leftovers = readTempJournal(join(stateDir, TEMP_JOURNAL_FILE));
  let removed = 0;
  if (leftovers.tokens.size === 0) return 0;
  for (const dir of leftovers.dirs) removed += fs.removeTempFiles(dir, leftovers.tokens);
  return removed;
}

export function targetIsEmpty(root: TargetRoot): boolean {
  return readdirSync(root.root).every(isTempName);
}

export type StartDecision = {
  readonly plan: StartPlan;
  /** Next offset to apply per partition. */
  readonly positions: Map<number, number>;
  /** The rebuild to carry out or continue, if any. */
  readonly rebuild: RebuildState | undefined;
};

/** Decides between resuming and rebuilding, and records a new rebuild in the index (committed). */
export function decideStart(
  index: ReplicaIndex,
  facts: { root: TargetRoot; rebuildRequested: boolean; partitions: number; earliest: Map<number, number>; latest: Map<number, number> },
  logger: Logger,
): StartDecision {
  const storedPositions = index.readMeta<Record<string, number>>(POSITIONS_META);
  const inProgress = index.readMeta<RebuildState | null>(REBUILD_META) ?? undefined;
  const targetEmpty = targetIsEmpty(facts.root);
  const plan = planStart({
    hasState: storedPositions !== undefined,
    rebuildInProgress: inProgress !== undefined,
    rebuildRequested: facts.rebuildRequested,
    targetEmpty,
    indexHasEntries: index.hasPresentEntries(),
    positions: positionsFromJson(storedPositions),
    earliest: facts.earliest,
    partitions: facts.partitions,
  });
  const epoch = index.readMeta<number>(EPOCH_META) ?? 0;
  switch (plan.kind) {
    case 'resume':
      index.setEpoch(epoch);
      return { plan, positions: positionsFromJson(storedPositions), rebuild: undefined };
    case 'continue-rebuild': {
      index.setEpoch(inProgress!.epoch);
      const positions = positionsFromJson({ ...inProgress!.start, ...storedPositions });
      logger.warn({ epoch: inProgress!.epoch, reason: inProgress!.reason }, 'continuing an interrupted rebuild');
      return { plan, positions, rebuild: inProgress };
    }
    case 'rebuild': {
      if (plan.clearIndex) index.clear();
      const state: RebuildState = {
        epoch: epoch + 1,
        reason: plan.reason,
        start: positionsToJson(facts.earliest),
        end: positionsToJson(facts.latest),
        startedAt: new Date().toISOString(),
        adopt: !targetEmpty,
      };
      index.setEpoch(state.epoch);
      index.writeMeta(EPOCH_META, state.epoch);
      index.writeMeta(REBUILD_META, state);
      index.writeMeta(POSITIONS_META, state.start);
      index.commit();
      logger.warn({ epoch: state.epoch, reason: plan.reason, clearIndex: plan.clearIndex, end: state.end }, `rebuilding the replica (${plan.reason}): replaying the log from its earliest offsets`);
      return { plan, positions: new Map(facts.earliest), rebuild: state };
    }
    default: {
      const unknown: never = plan;
      throw new TypeError(`unknown plan ${JSON.stringify(unknown)}`);
    }
  }
}
