// `mirrorlog verify --target DIR --replica NAME [--hash] [--repair] [--json]`: compares a
// replica with the log, as far as the replica has committed it (its consumer group's
// offsets; the high watermarks for a replica that never committed), and prints every
// drift: missing, extra, wrong type, size, content (--hash), mode, mtime, link target.
// Exit 1 on drift. --repair rewrites what differs from the log and the store and removes
// what the log does not hold; it needs the replica's applier stopped, since both would
// write the same files.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Admin, Kafka } from 'kafkajs';
import { verifyConfigSchema } from '../../schemas/config.ts';
import type { MirrorEvent } from '../../schemas/event.ts';
import { baseName, joinRel, parentOf } from '../../schemas/rel-path.ts';
import { isDirMode, isFileMode, isSymlinkMode, statAt, usingFd } from '../applier/adapters/fs-primitives.ts';
import { TargetRoot, UnsafePathError } from '../applier/adapters/target-root.ts';
import { isTempName } from '../applier/domain/temp-name.ts';
import { INDEX_FILE_NAME } from '../applier/adapters/sqlite-applied-index.ts';
import { POSITIONS_META } from '../applier/durability-points.ts';
import { positionsFromJson } from '../applier/positions.ts';
import { REBUILD_META } from '../applier/rebuild.ts';
import { IDENTITY_META } from '../applier/replica-state.ts';
import { defaultStateDir, HELP_SHOWN, loadConfig } from '../shared/config.ts';
import { fsat } from '../shared/native/fsat.ts';
import { CliError } from '../shared/errors.ts';
import { fetchTopicOffsets } from '../shared/kafka.ts';
import type { Logger } from '../shared/logger.ts';
import { metadataTopicExists, thisHost } from '../shared/tree-metadata.ts';
import { publishVerifyResult, type VerifyResult } from '../shared/verify-record.ts';
import { createProgress } from '../shared/progress.ts';
import { LogState, readLogState } from '../shared/log-state.ts';
import { S3ContentStore, s3OptionsFromConfig } from '../shared/s3-content-store.ts';
import { StateWriter } from './state-writer.ts';
import { chooseVerifyBasis, splitExtras, type ReplicaRecord, type VerifyBasis } from './verify-basis.ts';
import { replicaGroupId } from '../../schemas/names.ts';
import { compareEntry, formatDrift, type Drift, type Found } from './verify-compare.ts';
import { commandClients, requireTopic } from './command-clients.ts';

const SHOWN_DRIFTS = 200;

async function groupOffsets(admin: Admin, group: string, topic: string, repair: boolean): Promise<Map<number, number>> {
  if (repair) {
    const { groups } = await admin.describeGroups([group]);
    const state = groups[0]?.state;
    if (state !== undefined && state !== 'Empty' && state !== 'Dead') {
      throw new CliError(
        `the applier of this replica is running (group ${group} is ${state}): stop it before --repair`,
        1,
      );
    }
  }
  const committed = new Map<number, number>();
  for (const entry of await admin.fetchOffsets({ groupId: group, topics: [topic] })) {
    for (const { partition, offset } of entry.partitions)
      if (Number(offset) >= 0) committed.set(partition, Number(offset));
  }
  return committed;
}

/** The replica's own record of its position, read-only (the applier may hold the index open). */
export function readReplicaRecord(stateDir: string): ReplicaRecord {
  const file = path.join(stateDir, INDEX_FILE_NAME);
  if (!fs.existsSync(file)) return { kind: 'absent', stateDir };
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, timeout: 2000 });
    const meta = (key: string): unknown => {
      const row = db!.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?').get(key);
      return row === undefined ? undefined : JSON.parse(row.value);
    };
    const positions = meta(POSITIONS_META) as Record<string, number> | undefined;
    return {
      kind: 'found',
      stateDir,
      identity: meta(IDENTITY_META) as { replica: string; topic: string } | undefined,
      positions: positions === undefined ? undefined : positionsFromJson(positions),
      rebuildInProgress: (meta(REBUILD_META) ?? null) !== null,
    };
  } catch (error) {
    return { kind: 'unreadable', stateDir, reason: (error as Error).message };
  } finally {
    db?.close();
  }
}

function hashFd(fd: number): string {
  return createHash('sha256').update(fs.readFileSync(fd)).digest('hex');
}

/** What the replica holds at `rel`, reached from the root's fd without following symlinks. */
function inspect(root: TargetRoot, rel: string, withHash: boolean): Found | 'unsafe' {
  const name = baseName(rel);
  try {
    return root.withDir(parentOf(rel), false, (dirFd): Found => {
      const stats = statAt(dirFd, name);
      if (stats === undefined) return undefined;
      const mode = stats.mode & 0o7777;
      if (isFileMode(stats.mode)) {
        const mtimeMs =
          Number(stats.mtimeNs / 1_000_000n) - (stats.mtimeNs < 0n && stats.mtimeNs % 1_000_000n !== 0n ? 1 : 0);
        const found = { kind: 'file' as const, size: stats.size, mode, mtimeMs };
        if (!withHash) return found;
        const fd = root.openFile(rel);
        return fd === undefined ? found : { ...found, hash: usingFd(fd, hashFd) };
      }
      if (isDirMode(stats.mode)) return { kind: 'dir', mode };
      // /proc/self/fd/N/name: the directory that fd holds, the link itself not followed.
      if (isSymlinkMode(stats.mode))
        return { kind: 'symlink', target: fs.readlinkSync(`/proc/self/fd/${dirFd}/${name}`) };
      return { kind: 'other' };
    });
  } catch (error) {
    if (error instanceof UnsafePathError) return 'unsafe';
    throw error;
  }
}

/** Every drift between the log's state and the replica. */
export function compareReplica(
  state: LogState,
  target: string,
  withHash: boolean,
  allowSetid = false,
  onProgress?: (checked: number, total: number) => void,
): { drifts: Drift[]; expectedToRewrite: MirrorEvent[]; extras: string[] } {
  const root = new TargetRoot(target);
  try {
    return compareWith(root, state, withHash, allowSetid, onProgress);
  } finally {
    root.close();
  }
}

function compareWith(
  root: TargetRoot,
  state: LogState,
  withHash: boolean,
  allowSetid: boolean,
  onProgress: ((checked: number, total: number) => void) | undefined,
): { drifts: Drift[]; expectedToRewrite: MirrorEvent[]; extras: string[] } {
  const drifts: Drift[] = [];
  const expectedToRewrite: MirrorEvent[] = [];
  const total = onProgress === undefined ? 0 : state.count();
  let checked = 0;
  for (const expected of state.entries()) {
    if (++checked % 1000 === 0) onProgress?.(checked, total);
    if (expected.op === 'delete') continue;
    const found = inspect(root, expected.path, withHash && expected.op === 'file');
    const entryDrifts =
      found === 'unsafe'
        ? [{ path: expected.path, problem: 'unsafe-parent' as const, expected: 'directories only above it' }]
        : compareEntry(expected, found, { allowSetid });
    if (entryDrifts.length > 0) {
      drifts.push(...entryDrifts);
      expectedToRewrite.push(expected);
    }
  }
  const extras: string[] = [];
  const walk = (rel: string) => {
    const entries = root.withDir(rel, false, (dirFd) => fsat.readdir(dirFd)) ?? [];
    for (const entry of entries) {
      const entryName = entry.name.toString();
      if (isTempName(entryName)) continue;
      const child = joinRel(rel, entryName);
      const known = state.get(child);
      const isDir = entry.type === fsat.constants.DT_DIR;
      if (known === undefined || known.op === 'delete') {
        extras.push(child);
        drifts.push({ path: child, problem: 'extra', actual: isDir ? 'directory' : 'entry' });
      } else if (isDir && known.op === 'dir') {
        walk(child);
      }
    }
  };
  walk('');
  return { drifts, expectedToRewrite, extras };
}

/** Leaves the result where `mirrorlog status` finds it, when the tree has a metadata topic (never creating one). */
async function recordVerify(kafka: Kafka, topic: string, result: VerifyResult, logger: Logger): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    if (await metadataTopicExists(admin, topic)) await publishVerifyResult(kafka, topic, result);
  } catch (error) {
    logger.warn({ err: error }, 'cannot record the verify result for mirrorlog status');
  } finally {
    await admin.disconnect();
  }
}

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const config = loadConfig(verifyConfigSchema, {
    argv,
    env,
    booleanFlags: ['hash', 'repair', 'json', 'allowSetid'],
    usage:
      'usage: mirrorlog verify --target DIR --replica NAME [--hash] [--repair] [--json] [options]\n\n' +
      'Compares a replica with the log; exit 1 on drift. --repair fixes it (stop the applier first).',
  });
  if (config === HELP_SHOWN) return 0;
  const target = path.resolve(config.target);
  if (!fs.existsSync(target)) throw new CliError(`--target ${target} does not exist`);
  const { logger, kafka } = commandClients(config, 'verify');
  const admin = kafka.admin();
  await admin.connect();
  let basis: VerifyBasis;
  try {
    await requireTopic(admin, config.topic);
    const group = await groupOffsets(admin, replicaGroupId(config.topic, config.replica), config.topic, config.repair);
    const partitions = (await fetchTopicOffsets(admin, config.topic)).map((o) => o.partition);
    const stateDir = path.resolve(config.stateDir ?? defaultStateDir(config.replica, env));
    basis = chooseVerifyBasis({
      replica: config.replica,
      topic: config.topic,
      partitions,
      group,
      record: readReplicaRecord(stateDir),
    });
  } finally {
    await admin.disconnect();
  }
  // Refused before anything is read or touched: a repair against wrong offsets deletes good files.
  if (config.repair && basis.repairRefusal !== undefined)
    throw new CliError(`--repair refused: ${basis.repairRefusal}`);
  for (const warning of basis.warnings) process.stderr.write(`mirrorlog verify: ${warning}\n`);
  const state = new LogState();
  try {
    const reading = createProgress('reading the log', { unit: 'records' });
    const onProgress = (read: number, total: number) => reading.update(read, total);
    await readLogState(kafka, config.topic, state, {
      keepData: config.repair,
      onProgress,
      ...(basis.upTo === undefined ? {} : { upTo: basis.upTo }),
    });
    reading.stop();
    const checking = createProgress('checking the replica', { unit: 'entries' });
    const compared = compareReplica(state, target, config.hash, config.allowSetid, (done, total) =>
      checking.update(done, total),
    );
    checking.stop();
    const { expectedToRewrite } = compared;
    let { drifts, extras } = compared;
    let ahead = new Set<string>();
    if (extras.length > 0 && basis.upTo !== undefined) {
      // Never "extra" on the strength of offsets alone: what the current log holds is ahead, not extra.
      const current = new LogState();
      try {
        await readLogState(kafka, config.topic, current, { keepData: false });
        const split = splitExtras(extras, (rel) => {
          const latest = current.get(rel);
          return latest !== undefined && latest.op !== 'delete';
        });
        ahead = new Set(split.ahead);
        extras = split.extra;
        drifts = drifts.map((drift) =>
          drift.problem === 'extra' && ahead.has(drift.path)
            ? { ...drift, problem: 'ahead' as const, expected: 'in the log after the offsets compared' }
            : drift,
        );
      } finally {
        current.close();
      }
    }
    const sound = drifts.length === 0 && basis.warnings.length === 0;
    if (config.json)
      process.stdout.write(
        `${JSON.stringify(
          { target, entries: state.count(), basis: basis.source, warnings: basis.warnings, drifts },
          null,
          2,
        )}\n`,
      );
    else {
      for (const drift of drifts.slice(0, SHOWN_DRIFTS)) process.stdout.write(`${formatDrift(drift)}\n`);
      if (drifts.length > SHOWN_DRIFTS) process.stdout.write(`... and ${drifts.length - SHOWN_DRIFTS} more\n`);
      process.stdout.write(
        `${target}: ${state.count()} entries in the log, ` +
          `${drifts.length === 0 ? 'no drift' : `${drifts.length} drifts`}\n`,
      );
    }
    const record = (found: number) =>
      recordVerify(
        kafka,
        config.topic,
        {
          v: 1,
          role: 'verify',
          replica: config.replica,
          host: thisHost(),
          target,
          at: Date.now(),
          entries: state.count(),
          drifts: found,
        },
        logger,
      );
    if (drifts.length === 0 || !config.repair) {
      await record(drifts.length);
      return sound ? 0 : 1;
    }

    const store = new S3ContentStore({ ...s3OptionsFromConfig(config), logger });
    const writer = new StateWriter(target, store, config.fetchConcurrency);
    try {
      // Extras first, deepest first; then what differs, parents first.
      for (const extra of extras.sort((a, b) => b.length - a.length)) writer.remove(extra);
      await writer.write(expectedToRewrite);
    } finally {
      writer.close();
      store.close();
    }
    const after = compareReplica(state, target, config.hash, config.allowSetid).drifts.filter(
      (drift) => !(drift.problem === 'extra' && ahead.has(drift.path)),
    );
    process.stdout.write(
      `repaired: removed ${extras.length}, rewrote ${expectedToRewrite.length}; ` +
        `${after.length === 0 ? 'no drift left' : `${after.length} drifts left`}\n`,
    );
    await record(after.length);
    return after.length === 0 ? 0 : 1;
  } finally {
    state.close();
  }
}
