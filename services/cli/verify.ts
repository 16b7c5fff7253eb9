// `mirrorlog verify --target DIR --replica NAME [--hash] [--repair] [--json]`: compares a
// replica with the log, as far as the replica has committed it (its consumer group's
// offsets; the high watermarks for a replica that never committed), and prints every
// drift: missing, extra, wrong type, size, content (--hash), mode, mtime, link target.
// Exit 1 on drift. --repair rewrites what differs from the log and the store and removes
// what the log does not hold; it needs the replica's applier stopped, since both would
// write the same files.
import { exactNs } from '../applier/adapters/fs-primitives.ts';
import { expectedOwnership } from '../applier/owner-setup.ts';
import fs from 'node:fs';
import path from 'node:path';
import type { Kafka } from 'kafkajs';
import { verifyConfigSchema } from '../../schemas/config.ts';
import { replicaGroupId } from '../../schemas/names.ts';
import { defaultStateDir, HELP_SHOWN, loadConfig } from '../shared/config.ts';
import { CliError } from '../shared/errors.ts';
import { fetchTopicOffsets } from '../shared/kafka.ts';
import type { Logger } from '../shared/logger.ts';
import { metadataTopicExists, thisHost } from '../shared/tree-metadata.ts';
import { publishVerifyResult, type VerifyResult } from '../shared/verify-record.ts';
import { createProgress } from '../shared/progress.ts';
import { LogState, readLogState } from '../shared/log-state.ts';
import { S3ContentStore, s3OptionsFromConfig } from '../shared/s3-content-store.ts';
import { StateWriter } from './state-writer.ts';
import { chooseVerifyBasis, splitExtras, type VerifyBasis } from './verify-basis.ts';
import { formatDrift, type Drift } from './verify-compare.ts';
import { commandClients, requireTopic } from './command-clients.ts';
import { groupOffsets, readReplicaRecord } from './verify-positions.ts';
import { compareReplica } from './verify-replica.ts';

export { readReplicaRecord } from './verify-positions.ts';
export { compareReplica } from './verify-replica.ts';

const SHOWN_DRIFTS = 200;

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

/** Never "extra" on the strength of offsets alone: what the current log holds is ahead, not extra. */
async function separateAhead(
  kafka: Kafka,
  topic: string,
  compared: { drifts: Drift[]; extras: string[] },
): Promise<{ drifts: Drift[]; extras: string[]; ahead: Set<string> }> {
  const current = new LogState();
  try {
    await readLogState(kafka, topic, current, { keepData: false });
    const split = splitExtras(compared.extras, (rel) => {
      const latest = current.get(rel);
      return latest !== undefined && latest.op !== 'delete';
    });
    const ahead = new Set(split.ahead);
    const drifts = compared.drifts.map((drift) =>
      drift.problem === 'extra' && ahead.has(drift.path)
        ? { ...drift, problem: 'ahead' as const, expected: 'in the log after the offsets compared' }
        : drift,
    );
    return { drifts, extras: split.extra, ahead };
  } finally {
    current.close();
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
  const ownership = expectedOwnership(config);
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
    const compared = compareReplica(
      state,
      target,
      { withHash: config.hash, allowSetid: config.allowSetid, ownership },
      (done, total) => checking.update(done, total),
    );
    checking.stop();
    const { expectedToRewrite } = compared;
    const { drifts, extras, ahead } =
      compared.extras.length > 0 && basis.upTo !== undefined
        ? await separateAhead(kafka, config.topic, compared)
        : { ...compared, ahead: new Set<string>() };
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
    const writer = new StateWriter(target, store, {
      concurrency: config.fetchConcurrency,
      logger,
      allowSetid: config.allowSetid,
      ownership,
      dirMtime: (dir) => {
        const entry = state.get(dir);
        return entry?.op === 'dir' && entry.mtimeMs !== undefined ? exactNs(entry.mtimeMs, entry.mtimeNs) : undefined;
      },
      linkedName: (link) => compared.linkedNames.get(link),
    });
    try {
      // Extras first, deepest first; then what differs, parents first.
      for (const extra of extras.sort((a, b) => b.length - a.length)) writer.remove(extra);
      await writer.write(expectedToRewrite);
    } finally {
      writer.close();
      store.close();
    }
    const options = { withHash: config.hash, allowSetid: config.allowSetid, ownership };
    const after = compareReplica(state, target, options).drifts.filter(
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
