// Opening a replica's state at start: the index in the state directory, checked to
// belong to this replica and topic, the temp files a crash left behind removed, and the
// decision (domain/rebuild-policy.ts) to resume or rebuild carried out.
import { accessSync, constants, mkdirSync, readdirSync, realpathSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { CliError } from '../shared/errors.ts';
import { ensureWritableStateDir } from '../shared/start-errors.ts';
import type { Logger } from '../shared/logger.ts';
import type { ReplicaIndex } from './adapters/applied-index.ts';
import type { FsMaterializer } from './adapters/fs-materializer.ts';
import { INDEX_FILE_NAME, SqliteAppliedIndex } from './adapters/sqlite-applied-index.ts';
import type { TargetRoot } from './adapters/target-root.ts';
import { readTempJournal } from './adapters/temp-journal.ts';
import { POSITIONS_META } from './durability-points.ts';
import { planStart, type StartPlan } from './domain/rebuild-policy.ts';
import { isTempName } from './domain/temp-name.ts';
import { positionsFromJson, positionsToJson } from './positions.ts';
import { REBUILD_META, type RebuildState } from './rebuild.ts';
import { REPLICA_META_KEY } from '../../schemas/names.ts';

export const IDENTITY_META = REPLICA_META_KEY.identity;
const EPOCH_META = REPLICA_META_KEY.epoch;
export const TEMP_JOURNAL_FILE = 'temp-dirs.journal';

type Identity = { replica: string; topic: string };

function isInside(inner: string, outer: string): boolean {
  const rel = relative(outer, inner);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !rel.startsWith(sep));
}

/** Creates both directories and refuses a state directory inside the target (a sweep would delete it) or around it. */
export function prepareDirectories(target: string, stateDir: string): { target: string; stateDir: string } {
  usableTarget(target);
  try {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  } catch {
    // reported, with what to set, by the check below
  }
  ensureWritableStateDir(stateDir);
  const realTarget = realpathSync(target);
  const realState = realpathSync(stateDir);
  if (isInside(realState, realTarget) || isInside(realTarget, realState)) {
    throw new CliError(
      `the state directory (${realState}) and the target (${realTarget}) must not contain one another; ` +
        'set --state-dir elsewhere',
    );
  }
  return { target: realTarget, stateDir: realState };
}

/** Creates the target if needed and checks that it can be written: one line, not a stack trace. */
function usableTarget(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new CliError(`the target ${dir} cannot be created or written (${code}); check --target (MIRRORLOG_TARGET)`);
  }
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
    if (
      code.startsWith('SQLITE_READONLY') ||
      code.startsWith('SQLITE_CANTOPEN') ||
      code.startsWith('SQLITE_IOERR') ||
      code.startsWith('SQLITE_FULL')
    ) {
      throw new CliError(
        `the replica index in ${stateDir} cannot be opened for writing (${code}); ` +
          'set --state-dir (MIRRORLOG_STATE_DIR) to a writable directory',
      );
    }
    throw error;
  }
  const stored = index.readMeta<Identity>(IDENTITY_META);
  if (stored !== undefined && (stored.replica !== identity.replica || stored.topic !== identity.topic)) {
    index.close();
    throw new CliError(
      `the state directory ${stateDir} belongs to replica '${stored.replica}' of topic '${stored.topic}', ` +
        `not '${identity.replica}' of '${identity.topic}'; use another --state-dir`,
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
  facts: {
    root: TargetRoot;
    rebuildRequested: boolean;
    adoptRequested: boolean;
    partitions: number;
    earliest: Map<number, number>;
    latest: Map<number, number>;
    /** For the refusal's message. */
    replica: string;
    stateDir: string;
  },
  logger: Logger,
): StartDecision {
  const storedPositions = index.readMeta<Record<string, number>>(POSITIONS_META);
  const inProgress = index.readMeta<RebuildState | null>(REBUILD_META) ?? undefined;
  const targetEmpty = targetIsEmpty(facts.root);
  const plan = planStart({
    hasState: storedPositions !== undefined,
    rebuildInProgress: inProgress !== undefined,
    rebuildRequested: facts.rebuildRequested,
    adoptRequested: facts.adoptRequested,
    targetEmpty,
    logEmpty: [...facts.latest].every(([partition, high]) => high <= (facts.earliest.get(partition) ?? 0)),
    indexHasEntries: index.hasPresentEntries(),
    positions: positionsFromJson(storedPositions),
    earliest: facts.earliest,
    partitions: facts.partitions,
  });
  const epoch = index.readMeta<number>(EPOCH_META) ?? 0;
  switch (plan.kind) {
    case 'refuse':
      if (plan.reason === 'empty-log') {
        throw new CliError(
          `the log holds no record, and the target ${facts.root.root} is not empty: ` +
            `rebuilding replica '${facts.replica}' from it would delete every file there. ` +
            'Check --topic (MIRRORLOG_TOPIC) and that its producer has run',
        );
      }
      throw new CliError(
        `the target ${facts.root.root} is not empty, and replica '${facts.replica}' ` +
          `has no state in ${facts.stateDir}: ` +
          'a new replica would delete what the log lacks. Check --target, --replica, --topic and --state-dir; ' +
          'to start this replica here anyway, pass --adopt (keep what already matches the log, then converge) ' +
          'or --rebuild (replay the log, then delete what it lacks)',
      );
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
        // A new replica adopts only when told to; --rebuild of a new one rewrites every file.
        adopt: !targetEmpty && (storedPositions !== undefined || facts.adoptRequested),
      };
      index.setEpoch(state.epoch);
      index.writeMeta(EPOCH_META, state.epoch);
      index.writeMeta(REBUILD_META, state);
      index.writeMeta(POSITIONS_META, state.start);
      index.commit();
      logger.warn(
        { epoch: state.epoch, reason: plan.reason, clearIndex: plan.clearIndex, end: state.end },
        `rebuilding the replica (${plan.reason}): replaying the log from its earliest offsets`,
      );
      return { plan, positions: new Map(facts.earliest), rebuild: state };
    }
    default: {
      const unknown: never = plan;
      throw new TypeError(`unknown plan ${JSON.stringify(unknown)}`);
    }
  }
}
