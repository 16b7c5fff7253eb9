// `mirrorlog gc [--grace 24h] [--dry-run]`: deletes from the content store the objects
// that no record retained in the topic references and that were written longer than the
// grace period ago. Never on the hot path (DESIGN: an explicit command).
//
// Why it cannot delete content an event needs: every record an applier, a rebuild or a
// restore can still read is retained, so its hash is in the set read first; a record
// published after that read references content the producer stored or found in the
// store less than 30 minutes earlier (uploader.ts), so the object is younger than the
// grace period. The object's age is checked again right before it is deleted, since a
// producer may have stored it again after the listing.
//
// Trees may share a bucket prefix (and so objects): every producer registers its topic
// under the prefix (tree-registry.ts), and gc reads every registered topic before it
// deletes anything, refusing when one of them cannot be read.
import type { Kafka } from 'kafkajs';
import { gcConfigSchema, type GcConfig } from '../../schemas/config.ts';
import { GROUP_PREFIX } from '../../schemas/names.ts';
import type { ContentStore } from '../shared/content-store.ts';
import { HELP_SHOWN, loadConfig } from '../shared/config.ts';
import { CliError } from '../shared/errors.ts';
import { createProgress } from '../shared/progress.ts';
import { S3ContentStore, s3OptionsFromConfig } from '../shared/s3-content-store.ts';
import { readTopicToEnd } from '../shared/topic-reader.ts';
import { registeredTopics, unregisterTree } from '../shared/tree-registry.ts';
import { GC_MIN_GRACE_MS, ReferencedHashes, judge, referencedHash, type Verdict } from './gc-plan.ts';
import { commandClients } from './command-clients.ts';
import { requestMissingContent } from './heal-scan.ts';
import { healTopic } from '../../schemas/content-key.ts';

type Tally = { count: number; bytes: number };
export type GcReport = {
  records: number;
  referencedHashes: number;
  objects: Tally;
  referenced: Tally;
  young: Tally;
  garbage: Tally;
  /** Garbage deleted (none with dryRun). */
  deleted: Tally;
  /** Garbage that was stored again, or removed by someone else, between the listing and its deletion. */
  spared: number;
  dryRun: boolean;
};

const PROGRESS_EVERY_MS = 5000;

/** Every hash referenced by a record retained in any of `topics` (up to their high watermarks now). */
export async function readReferencedHashes(
  kafka: Kafka,
  topics: readonly string[],
  progress: (text: string) => void = () => {},
  onRecords?: (read: number, total: number | undefined) => void,
): Promise<{ referenced: ReferencedHashes; records: number }> {
  const referenced = new ReferencedHashes();
  let records = 0;
  let before = 0;
  for (const topic of topics) {
    let total: number | undefined;
    await readTopicToEnd(kafka, topic, {
      groupPrefix: GROUP_PREFIX.gc,
      onTotal: (count) => (total = before + count),
      onBatch: (messages) => {
        for (const message of messages) {
          records++;
          const hash = referencedHash(message.value);
          if (hash !== undefined) referenced.add(hash);
        }
        progress(`read ${records} records`);
        onRecords?.(records, total);
      },
    });
    before = records;
  }
  referenced.seal();
  return { referenced, records };
}

/**
 * The topics whose records gc must read: its own and every one registered under the
 * prefix. One that is not on the cluster cannot be accounted for, so gc refuses.
 */
export function topicsToRead(
  own: string,
  registered: readonly string[],
  existing: ReadonlySet<string>,
  brokers: string,
): string[] {
  const topics = [...new Set([own, ...registered])].sort();
  const missing = topics.filter((topic) => !existing.has(topic));
  if (missing.includes(own)) throw new CliError(`topic '${own}' does not exist`, 2);
  if (missing.length > 0) {
    throw new CliError(
      `the store prefix also holds the content of ${missing.map((topic) => `'${topic}'`).join(', ')}, ` +
        `registered there but not found on ${brokers}: gc cannot tell what they reference, so it deletes nothing. ` +
        'Run gc against the brokers that hold them, or, if such a tree is gone for good, ' +
        'mirrorlog gc --unregister TOPIC',
      2,
    );
  }
  return topics;
}

export type SweepOptions = {
  /** Objects written at or after this time are kept (taken before the log was read). */
  cutoffMs: number;
  dryRun: boolean;
  concurrency: number;
  progress?: (text: string) => void;
};

/** Lists the store and deletes its garbage, re-checking each object right before deleting it. */
export async function sweep(
  store: ContentStore,
  referenced: ReferencedHashes,
  options: SweepOptions,
): Promise<Omit<GcReport, 'records' | 'referencedHashes'>> {
  const zero = (): Tally => ({ count: 0, bytes: 0 });
  const report = {
    objects: zero(),
    referenced: zero(),
    young: zero(),
    garbage: zero(),
    deleted: zero(),
    spared: 0,
    dryRun: options.dryRun,
  };
  const count = (tally: Tally, bytes: number) => {
    tally.count++;
    tally.bytes += bytes;
  };
  const progress = throttled(options.progress);
  const deleteOne = async (hash: string, size: number) => {
    const current = await store.stat(hash);
    if (current === undefined || judge(current, referenced, options.cutoffMs) !== 'garbage') {
      report.spared++;
      return;
    }
    await store.remove(hash);
    count(report.deleted, size);
  };
  const pending = new Set<Promise<void>>();
  try {
    for await (const object of store.list()) {
      count(report.objects, object.size);
      const verdict: Verdict = judge(object, referenced, options.cutoffMs);
      count(report[verdict], object.size);
      if (verdict === 'garbage' && !options.dryRun) {
        if (pending.size >= options.concurrency) await Promise.race(pending);
        const deletion: Promise<void> = deleteOne(object.hash, object.size).finally(() => pending.delete(deletion));
        pending.add(deletion);
      }
      progress(
        `${report.objects.count} objects listed, ${report.garbage.count} garbage, ${report.deleted.count} deleted`,
      );
    }
    await Promise.all(pending);
  } finally {
    await Promise.allSettled(pending);
  }
  return report;
}

function throttled(write: ((text: string) => void) | undefined): (text: string) => void {
  let last = Date.now();
  return (text) => {
    if (write === undefined || Date.now() - last < PROGRESS_EVERY_MS) return;
    last = Date.now();
    write(text);
  };
}

const human = (bytes: number) =>
  bytes >= 1 << 30 ? `${(bytes / (1 << 30)).toFixed(1)} GiB` : `${(bytes / (1 << 20)).toFixed(1)} MiB`;

export function formatReport(report: GcReport, config: Pick<GcConfig, 'grace'>): string {
  const line = (label: string, tally: Tally) =>
    `  ${label.padEnd(34)} ${String(tally.count).padStart(10)}  ${human(tally.bytes).padStart(10)}`;
  return [
    `${report.records} records read; ${report.referencedHashes} distinct contents referenced`,
    line('objects in the store', report.objects),
    line('referenced by the log', report.referenced),
    line(`unreferenced, younger than ${config.grace / 3_600_000} h`, report.young),
    line('garbage', report.garbage),
    report.dryRun ? '  (dry run: nothing deleted)' : line('deleted', report.deleted),
    ...(report.spared > 0
      ? [`  ${report.spared} garbage objects were stored again (or removed) meanwhile and kept`]
      : []),
  ].join('\n');
}

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const config = loadConfig(gcConfigSchema, {
    argv,
    env,
    booleanFlags: ['dry-run', 'force', 'json', 'heal'],
    usage:
      'usage: mirrorlog gc [--grace DURATION] [--dry-run] [--json] [options]\n' +
      '       mirrorlog gc --heal [options]\n\n' +
      'Deletes content no record retained in the topic references, once older than --grace ' +
      '(default 24h; at least 1h\n' +
      'unless --force). Keep the grace longer than the longest Kafka outage a producer may ride out. ' +
      'The bucket prefix\n' +
      '(--bucket, --s3-prefix) may be shared: gc reads every topic registered under it, ' +
      'and refuses when one is missing\n' +
      '(--unregister TOPIC forgets a tree that is gone for good).\n' +
      '--heal deletes nothing: it asks the producer to upload again the content the log references ' +
      'and the store lacks.',
  });
  if (config === HELP_SHOWN) return 0;
  if (config.grace < GC_MIN_GRACE_MS && !config.force) {
    throw new CliError(
      `--grace ${Math.round(config.grace / 60_000)} min is shorter than 1h: ` +
        'a running producer may still publish events for such objects; ' +
        `use --force only when no producer publishes to '${config.topic}'`,
    );
  }
  const { logger, kafka } = commandClients(config, 'gc');
  const store = new S3ContentStore({ ...s3OptionsFromConfig(config), logger });
  const progress = (text: string) => process.stderr.write(`mirrorlog gc: ${text}\n`);
  try {
    if (config.unregister !== undefined) {
      await unregisterTree(store, config.unregister);
      progress(`'${config.unregister}' is no longer registered under this prefix: gc no longer keeps its content`);
      return 0;
    }
    if (config.heal) {
      const report = await requestMissingContent(kafka, store, config.topic);
      process.stdout.write(
        config.json
          ? `${JSON.stringify(report)}\n`
          : `${report.records} records read, ${report.objects} objects listed: ` +
              `${report.missing} referenced contents missing, asked for again on ${healTopic(config.topic)}\n`,
      );
      return 0;
    }
    const admin = kafka.admin();
    await admin.connect();
    let existing: Set<string>;
    try {
      existing = new Set(await admin.listTopics());
    } finally {
      await admin.disconnect();
    }
    const topics = topicsToRead(config.topic, await registeredTopics(store), existing, config.brokers.join(','));
    // The cutoff is taken before the log is read: an object stored after it is young.
    const cutoffMs = Date.now() - config.grace;
    const reading = createProgress('reading the log', { unit: 'records' });
    const { referenced, records } = await readReferencedHashes(kafka, topics, undefined, (read, total) =>
      reading.update(read, total),
    );
    reading.stop();
    progress(
      `${records} records of ${topics.length} topic(s) sharing the prefix (${topics.join(', ')}) ` +
        `reference ${referenced.size} distinct contents; listing the store`,
    );
    const swept = await sweep(store, referenced, {
      cutoffMs,
      dryRun: config.dryRun,
      concurrency: config.fetchConcurrency,
      progress,
    });
    const report: GcReport = { records, referencedHashes: referenced.size, ...swept };
    process.stdout.write(config.json ? `${JSON.stringify(report)}\n` : `${formatReport(report, config)}\n`);
  } finally {
    store.close();
  }
  return 0;
}
