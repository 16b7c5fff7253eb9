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
import type { Admin } from 'kafkajs';
import { verifyConfigSchema } from '../../schemas/config.ts';
import type { MirrorEvent } from '../../schemas/event.ts';
import { baseName, joinRel, parentOf } from '../../schemas/rel-path.ts';
import { TargetRoot, UnsafePathError } from '../applier/adapters/target-root.ts';
import { isTempName } from '../applier/domain/temp-name.ts';
import { HELP_SHOWN, loadConfig } from '../shared/config.ts';
import { CliError } from '../shared/errors.ts';
import { createKafka } from '../shared/kafka.ts';
import { createLogger } from '../shared/logger.ts';
import { LogState, readLogState } from '../shared/log-state.ts';
import { S3ContentStore, s3OptionsFromConfig } from '../shared/s3-content-store.ts';
import { StateWriter } from './state-writer.ts';
import { replicaGroupId } from '../../schemas/names.ts';
import { compareEntry, formatDrift, type Drift, type Found } from './verify-compare.ts';

const SHOWN_DRIFTS = 200;

async function replicaOffsets(admin: Admin, group: string, topic: string, repair: boolean): Promise<Map<number, number> | undefined> {
  if (repair) {
    const { groups } = await admin.describeGroups([group]);
    const state = groups[0]?.state;
    if (state !== undefined && state !== 'Empty' && state !== 'Dead') {
      throw new CliError(`the applier of this replica is running (group ${group} is ${state}): stop it before --repair`, 1);
    }
  }
  const committed = new Map<number, number>();
  for (const entry of await admin.fetchOffsets({ groupId: group, topics: [topic] })) {
    for (const { partition, offset } of entry.partitions) if (Number(offset) >= 0) committed.set(partition, Number(offset));
  }
  return committed.size === 0 ? undefined : committed;
}

function hashFile(abs: string): string {
  return createHash('sha256').update(fs.readFileSync(abs)).digest('hex');
}

/** What the replica holds at `rel`, reached without following symlinks. */
function inspect(root: TargetRoot, rel: string, withHash: boolean): Found | 'unsafe' {
  let dir: string | undefined;
  try {
    dir = root.dir(parentOf(rel), false);
  } catch (error) {
    if (error instanceof UnsafePathError) return 'unsafe';
    throw error;
  }
  if (dir === undefined) return undefined;
  const abs = `${dir}/${baseName(rel)}`;
  const stats = fs.lstatSync(abs, { throwIfNoEntry: false });
  if (stats === undefined) return undefined;
  if (stats.isFile()) {
    return { kind: 'file', size: stats.size, mode: stats.mode & 0o7777, mtimeMs: Math.trunc(stats.mtimeMs), ...(withHash ? { hash: hashFile(abs) } : {}) };
  }
  if (stats.isDirectory()) return { kind: 'dir', mode: stats.mode & 0o7777 };
  if (stats.isSymbolicLink()) return { kind: 'symlink', target: fs.readlinkSync(abs) };
  return { kind: 'other' };
}

/** Every drift between the log's state and the replica. */
export function compareReplica(state: LogState, target: string, withHash: boolean): { drifts: Drift[]; expectedToRewrite: MirrorEvent[]; extras: string[] } {
  const root = new TargetRoot(target);
  const drifts: Drift[] = [];
  const expectedToRewrite: MirrorEvent[] = [];
  for (const expected of state.entries()) {
    if (expected.op === 'delete') continue;
    const found = inspect(root, expected.path, withHash && expected.op === 'file');
    const entryDrifts = found === 'unsafe' ? [{ path: expected.path, problem: 'unsafe-parent' as const, expected: 'directories only above it' }] : compareEntry(expected, found);
    if (entryDrifts.length > 0) {
      drifts.push(...entryDrifts);
      expectedToRewrite.push(expected);
    }
  }
  const extras: string[] = [];
  const walk = (rel: string) => {
    for (const dirent of fs.readdirSync(root.abs(rel), { withFileTypes: true })) {
      if (isTempName(dirent.name)) continue;
      const child = joinRel(rel, dirent.name);
      const known = state.get(child);
      if (known === undefined || known.op === 'delete') {
        extras.push(child);
        drifts.push({ path: child, problem: 'extra', actual: dirent.isDirectory() ? 'directory' : 'entry' });
      } else if (dirent.isDirectory() && known.op === 'dir') {
        walk(child);
      }
    }
  };
  walk('');
  return { drifts, expectedToRewrite, extras };
}

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const config = loadConfig(verifyConfigSchema, {
    argv,
    env,
    booleanFlags: ['hash', 'repair', 'json'],
    usage: 'usage: mirrorlog verify --target DIR --replica NAME [--hash] [--repair] [--json] [options]\n\nCompares a replica with the log; exit 1 on drift. --repair fixes it (stop the applier first).',
  });
  if (config === HELP_SHOWN) return 0;
  const target = path.resolve(config.target);
  if (!fs.existsSync(target)) throw new CliError(`--target ${target} does not exist`);
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, name: 'verify' });
  const kafka = createKafka({ brokers: config.brokers, clientId: 'mirrorlog-verify', logger, retry: { retries: 5 } });
  const admin = kafka.admin();
  await admin.connect();
  let upTo: Map<number, number> | undefined;
  try {
    if (!(await admin.listTopics()).includes(config.topic)) throw new CliError(`topic '${config.topic}' does not exist`, 1);
    upTo = await replicaOffsets(admin, replicaGroupId(config.topic, config.replica), config.topic, config.repair);
  } finally {
    await admin.disconnect();
  }
  const state = new LogState();
  try {
    await readLogState(kafka, config.topic, state, { keepData: config.repair, ...(upTo === undefined ? {} : { upTo }) });
    const { drifts, expectedToRewrite, extras } = compareReplica(state, target, config.hash);
    if (config.json) process.stdout.write(`${JSON.stringify({ target, entries: state.count(), drifts }, null, 2)}\n`);
    else {
      for (const drift of drifts.slice(0, SHOWN_DRIFTS)) process.stdout.write(`${formatDrift(drift)}\n`);
      if (drifts.length > SHOWN_DRIFTS) process.stdout.write(`... and ${drifts.length - SHOWN_DRIFTS} more\n`);
      process.stdout.write(`${target}: ${state.count()} entries in the log, ${drifts.length === 0 ? 'no drift' : `${drifts.length} drifts`}\n`);
    }
    if (drifts.length === 0 || !config.repair) return drifts.length === 0 ? 0 : 1;

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
    const after = compareReplica(state, target, config.hash).drifts;
    process.stdout.write(`repaired: removed ${extras.length}, rewrote ${expectedToRewrite.length}; ${after.length === 0 ? 'no drift left' : `${after.length} drifts left`}\n`);
    return after.length === 0 ? 0 : 1;
  } finally {
    state.close();
  }
}
