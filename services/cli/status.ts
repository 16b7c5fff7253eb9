// `mirrorlog status [--json]`: per replica (consumer group mirrorlog.replica.<topic>.<name>) the
// lag per partition and in total, when it last applied something and how fast it goes;
// the producer's last published seq and time. Exit 1 when a replica is stalled.
import { setTimeout as delay } from 'node:timers/promises';
import type { Admin } from 'kafkajs';
import { statusConfigSchema } from '../../schemas/config.ts';
import { replicaOfGroup } from '../../schemas/names.ts';
import { HELP_SHOWN, loadConfig } from '../shared/config.ts';
import { CliError } from '../shared/errors.ts';
import { createKafka } from '../shared/kafka.ts';
import { createLogger } from '../shared/logger.ts';
import { readLastRecords } from '../shared/topic-tail.ts';
import { formatStatus, parseCommitNote, replicaStatus, type CommitNote, type GroupSample, type PartitionOffsets, type StatusReport } from './status-report.ts';


async function sampleGroups(admin: Admin, topic: string, groups: { groupId: string; replica: string }[]): Promise<GroupSample[]> {
  return Promise.all(
    groups.map(async ({ groupId, replica }) => {
      const committed = new Map<number, number>();
      const notes = new Map<number, CommitNote>();
      for (const entry of await admin.fetchOffsets({ groupId, topics: [topic] })) {
        for (const { partition, offset, metadata } of entry.partitions) {
          committed.set(partition, Number(offset));
          const note = parseCommitNote(metadata);
          if (note !== undefined) notes.set(partition, note);
        }
      }
      return { replica, committed, notes };
    }),
  );
}

export async function collectStatus(options: { brokers: string[]; topic: string; sampleMs: number; stallAfterMs: number; logLevel: 'silent' | 'warn' }): Promise<StatusReport> {
  const logger = createLogger({ level: options.logLevel, name: 'status' });
  // A status check must answer, not wait for a broker that is down.
  const kafka = createKafka({ brokers: options.brokers, clientId: 'mirrorlog-status', logger, retry: { retries: 3, maxRetryTime: 2000 } });
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (error) {
    throw new CliError(`cannot reach Kafka at ${options.brokers.join(',')}: ${(error as Error).message}`, 1);
  }
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(options.topic)) throw new CliError(`topic '${options.topic}' does not exist (no producer has run with it yet?)`, 1);
    const offsets: PartitionOffsets[] = (await admin.fetchTopicOffsets(options.topic)).map(({ partition, low, high }) => ({ partition, low: Number(low), high: Number(high) }));
    const { groups } = await admin.listGroups();
    const replicaGroups = groups
      .map(({ groupId }) => ({ groupId, replica: replicaOfGroup(groupId, options.topic) }))
      .filter((g): g is { groupId: string; replica: string } => g.replica !== undefined)
      .sort((a, b) => (a.groupId < b.groupId ? -1 : 1));
    const first = await sampleGroups(admin, options.topic, replicaGroups);
    const started = Date.now();
    await delay(options.sampleMs);
    const second = await sampleGroups(admin, options.topic, replicaGroups);
    const now = Date.now();
    const seconds = (now - started) / 1000;
    const replicas = second
      .map((sample, i) => ({ sample, status: replicaStatus(offsets, first[i]!, sample, seconds, now, options.stallAfterMs) }))
      // A group that never committed on this topic belongs to another topic.
      .filter(({ sample }) => sample.committed.size > 0 && [...sample.committed.values()].some((offset) => offset >= 0))
      .map(({ status }) => status);
    const last = await readLastRecords(kafka, options.topic);
    const producer = last.length === 0 ? undefined : { lastSeq: Math.max(...last.map((e) => e.seq)), lastPublishedAt: Math.max(...last.map((e) => e.ts)) };
    return { topic: options.topic, at: now, records: offsets.reduce((sum, o) => sum + o.high - o.low, 0), replicas, producer };
  } finally {
    await admin.disconnect();
  }
}

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const config = loadConfig(statusConfigSchema, {
    argv,
    env,
    booleanFlags: ['json'],
    usage: 'usage: mirrorlog status [--json] [--topic T] [--sample 2s] [--stall-after 60s]\n\nLag, rate and last activity of every replica of a topic; exit 1 if one is stalled.',
  });
  if (config === HELP_SHOWN) return 0;
  const report = await collectStatus({ brokers: config.brokers, topic: config.topic, sampleMs: config.sample, stallAfterMs: config.stallAfter, logLevel: 'silent' });
  process.stdout.write(config.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatStatus(report)}\n`);
  return report.replicas.some((r) => r.stalled) ? 1 : 0;
}
