// `mirrorlog restore --target DIR --at TIME`: materializes the tree as it was at TIME
// into an empty directory. The topic holds every change of the history window plus the
// latest record of every path, so the latest record of each path detected at or before
// TIME is exactly the tree at TIME, for any TIME inside the window; outside it, refused.
import { ownershipFromConfig } from '../applier/owner-setup.ts';
import fs from 'node:fs';
import path from 'node:path';
import { restoreConfigSchema } from '../../schemas/config.ts';
import { HELP_SHOWN, loadConfig } from '../shared/config.ts';
import { CliError } from '../shared/errors.ts';
import { describeTopicConfig } from '../shared/kafka.ts';
import { LogState, readLogState } from '../shared/log-state.ts';
import { createProgress } from '../shared/progress.ts';
import { S3ContentStore, s3OptionsFromConfig } from '../shared/s3-content-store.ts';
import { parseRestoreTime, restoreTimeProblem } from './restore-time.ts';
import { StateWriter } from './state-writer.ts';
import { commandClients, requireTopic } from './command-clients.ts';

function progress(text: string): void {
  process.stderr.write(`mirrorlog restore: ${text}\n`);
}

function assertEmptyTarget(target: string): void {
  fs.mkdirSync(target, { recursive: true });
  if (fs.readdirSync(target).length > 0)
    throw new CliError(`--target ${target} is not empty: restore writes into an empty directory only`);
}

/** `--at -2h` would read as an unknown flag `-2h`: a relative time right after --at is its value. */
function joinRelativeAt(argv: string[]): string[] {
  const result: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (argv[i] === '--at' && next !== undefined && /^-\d/.test(next)) {
      result.push(`--at=${next}`);
      i++;
    } else {
      result.push(argv[i]!);
    }
  }
  return result;
}

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const config = loadConfig(restoreConfigSchema, {
    argv: joinRelativeAt(argv),
    env,
    booleanFlags: ['allowSetid'],
    usage:
      'usage: mirrorlog restore --target DIR --at TIME [options]\n\n' +
      'TIME: ISO-8601 (2026-11-25T14:00:00Z) or relative to now (-2h, -30m, -7d).',
  });
  if (config === HELP_SHOWN) return 0;
  const now = Date.now();
  const at = parseRestoreTime(config.at, now);
  if (at === undefined)
    throw new CliError(
      `invalid --at '${config.at}': ` +
        'expected an ISO-8601 time (2026-11-25T14:00:00Z) or a relative one (-2h, -30m, -7d)',
    );
  const target = path.resolve(config.target);
  assertEmptyTarget(target);

  const { logger, kafka } = commandClients(config, 'restore');
  const ownership = ownershipFromConfig(config, logger);
  const admin = kafka.admin();
  await admin.connect();
  let windowMs = config.historyWindow;
  try {
    await requireTopic(admin, config.topic);
    const lag = (await describeTopicConfig(admin, config.topic, ['min.compaction.lag.ms'])).get(
      'min.compaction.lag.ms',
    );
    if (lag !== undefined) windowMs = Number(lag);
  } finally {
    await admin.disconnect();
  }
  const early = restoreTimeProblem(at, now, windowMs, undefined);
  if (early !== undefined) throw new CliError(`cannot restore: ${early}`, 1);

  const state = new LogState();
  const store = new S3ContentStore({ ...s3OptionsFromConfig(config), logger });
  try {
    progress(`reading ${config.topic} up to ${new Date(at).toISOString()}`);
    const reading = createProgress('reading the log', { unit: 'records' });
    const stats = await readLogState(kafka, config.topic, state, {
      until: at,
      keepData: true,
      onProgress: (read, total) => reading.update(read, total),
    });
    reading.stop();
    const problem = restoreTimeProblem(at, now, windowMs, stats.firstTs);
    if (problem !== undefined) throw new CliError(`cannot restore: ${problem}`, 1);
    const total = state.count();
    progress(`writing ${total} entries into ${target}`);
    const writer = new StateWriter(target, store, {
      concurrency: config.fetchConcurrency,
      logger,
      allowSetid: config.allowSetid,
      ownership,
    });
    try {
      const writing = createProgress('writing entries', { unit: 'entries' });
      await writer.write(state.entries(), (s) => writing.update(s.dirs + s.files + s.symlinks, total));
      writing.stop();
      const s = writer.stats;
      process.stdout.write(
        `restored ${target} as of ${new Date(at).toISOString()}: ` +
          `${s.dirs} directories, ${s.files} files (${s.bytes} bytes), ${s.symlinks} symlinks` +
          `${stats.invalid > 0 ? `; ${stats.invalid} invalid records ignored` : ''}\n`,
      );
    } finally {
      writer.close();
    }
  } finally {
    state.close();
    store.close();
  }
  return 0;
}
