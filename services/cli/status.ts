// `mirrorlog status [--json]`: per replica (consumer group mirrorlog.replica.<topic>.<name>) the
// lag per partition and in total, when it last applied something and how fast it goes,
// its appliers, dead letters, what its applier says fails, and its last verify; the
// producer's last published seq and time. Exit 1 when a replica is not in sync for a
// reason other than catching up (status-report.ts says which).
import { setTimeout as delay } from 'node:timers/promises';
import type { Admin, Kafka } from 'kafkajs';
import { deadLetterTopic } from '../../schemas/content-key.ts';
import { statusConfigSchema } from '../../schemas/config.ts';
import { HELP_SHOWN, loadConfig } from '../shared/config.ts';
import { CliError } from '../shared/errors.ts';
import { replicaOfGroup } from '../../schemas/names.ts';
import { closableKafka, createKafka, fetchTopicOffsets } from '../shared/kafka.ts';
import { backoffDelay } from '../shared/retry.ts';
import { DeadlineError, withinMs } from '../shared/deadline.ts';
import { classifyFailure, failureMessage } from '../shared/failure-kind.ts';
import { treeMetadataTopic } from '../shared/tree-metadata.ts';
import { readVerifyResults, type VerifyResult } from '../shared/verify-record.ts';
import { kafkaClientSecurity, type KafkaClientSecurity } from '../shared/kafka-security.ts';
import { partitionHealth } from './status-partitions.ts';
import { createLogger } from '../shared/logger.ts';
import { readLastRecords } from '../shared/topic-tail.ts';
import {
  formatStatus,
  needsAttention,
  NO_FACTS,
  parseCommitNote,
  replicaStatus,
  type CommitNote,
  type GroupSample,
  type PartitionOffsets,
  type ReplicaFacts,
  type StatusReport,
} from './status-report.ts';

async function sampleGroups(admin: Admin, topic: string, groups: string[]): Promise<GroupSample[]> {
  return Promise.all(
    groups.map(async (groupId) => {
      const committed = new Map<number, number>();
      const notes = new Map<number, CommitNote>();
      for (const entry of await admin.fetchOffsets({ groupId, topics: [topic] })) {
        for (const { partition, offset, metadata } of entry.partitions) {
          committed.set(partition, Number(offset));
          const note = parseCommitNote(metadata);
          if (note !== undefined) notes.set(partition, note);
        }
      }
      return { replica: replicaOfGroup(groupId, topic) ?? groupId, committed, notes };
    }),
  );
}

/** Members, dead letters and last verify of each replica. */
async function replicaFacts(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  topics: readonly string[],
  groups: readonly string[],
): Promise<Map<string, ReplicaFacts>> {
  const described = groups.length === 0 ? [] : (await admin.describeGroups([...groups])).groups;
  const verifies = topics.includes(treeMetadataTopic(topic))
    ? await readVerifyResults(kafka, topic)
    : new Map<string, VerifyResult>();
  const facts = new Map<string, ReplicaFacts>();
  for (const groupId of groups) {
    const replica = replicaOfGroup(groupId, topic) ?? groupId;
    const group = described.find((g) => g.groupId === groupId);
    const members = group === undefined || group.state === 'Empty' || group.state === 'Dead' ? 0 : group.members.length;
    const dlq = deadLetterTopic(topic, replica);
    const deadLetters = topics.includes(dlq)
      ? (await fetchTopicOffsets(admin, dlq)).reduce((sum, o) => sum + o.high - o.low, 0)
      : 0;
    const verify = verifies.get(replica);
    facts.set(replica, {
      members,
      deadLetters,
      lastVerify: verify === undefined ? undefined : { at: verify.at, drifts: verify.drifts },
    });
  }
  return facts;
}

export interface StatusOptions {
  brokers: string[];
  topic: string;
  sampleMs: number;
  stallAfterMs: number;
  offlineAfterMs?: number;
  logLevel: 'silent' | 'warn';
  security?: KafkaClientSecurity;
  /** The answer (or a one-line error) comes within this. Default STATUS_ANSWER_WITHIN_MS. */
  answerWithinMs?: number;
}

/**
 * A status check must answer, also while a broker has just died: until the cluster fences
 * it, requests routed to it fail, and a request to it can hang inside the client. Each
 * attempt is bounded, abandoned clients are closed, and the check is tried again.
 */
export const STATUS_ANSWER_WITHIN_MS = 30_000;
const ATTEMPT_WITHIN_MS = 15_000;

export async function collectStatus(options: StatusOptions): Promise<StatusReport> {
  const logger = createLogger({ level: options.logLevel, name: 'status' });
  const answerWithinMs = options.answerWithinMs ?? STATUS_ANSWER_WITHIN_MS;
  const deadline = Date.now() + answerWithinMs;
  let lastError: unknown;
  for (let attempt = 1; attempt === 1 || Date.now() < deadline; attempt += 1) {
    const kafka = closableKafka(
      createKafka({
        brokers: options.brokers,
        clientId: 'mirrorlog-status',
        logger,
        security: options.security ?? {},
        retry: { retries: 3, maxRetryTime: 2000 },
      }),
    );
    const within = Math.max(1000, Math.min(deadline - Date.now(), ATTEMPT_WITHIN_MS + options.sampleMs));
    try {
      return await withinMs(collectOnce(kafka.kafka, options), within);
    } catch (error) {
      if (error instanceof CliError) throw error;
      const kind = error instanceof DeadlineError ? 'unreachable' : classifyFailure(error);
      if (kind === 'auth') throw new CliError(`Kafka refused status: ${failureMessage(error)}`, 2);
      if (kind !== 'unreachable') throw error;
      lastError = error;
      logger.warn({ err: error, attempt }, 'status: Kafka did not answer, trying again');
    } finally {
      await kafka.closeAll();
    }
    await delay(Math.min(backoffDelay(attempt, { minDelayMs: 500, maxDelayMs: 4000 }), deadline - Date.now()));
  }
  throw new CliError(
    `Kafka at ${options.brokers.join(',')} did not answer within ${Math.round(answerWithinMs / 1000)} s: ` +
      failureMessage(lastError),
    1,
  );
}

async function collectOnce(kafka: Kafka, options: StatusOptions): Promise<StatusReport> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = await admin.listTopics();
    if (!topics.includes(options.topic))
      throw new CliError(`topic '${options.topic}' does not exist (no producer has run with it yet?)`, 2);
    const { topics: metadata } = await admin.fetchTopicMetadata({ topics: [options.topic] });
    const partitions = partitionHealth(metadata.find((m) => m.name === options.topic)?.partitions ?? []);
    const offsets: PartitionOffsets[] = await fetchTopicOffsets(admin, options.topic);
    const { groups } = await admin.listGroups();
    const replicaGroups = groups
      .map((g) => g.groupId)
      .filter((id) => replicaOfGroup(id, options.topic) !== undefined)
      .sort();
    const first = await sampleGroups(admin, options.topic, replicaGroups);
    const started = Date.now();
    await delay(options.sampleMs);
    const second = await sampleGroups(admin, options.topic, replicaGroups);
    const now = Date.now();
    const seconds = (now - started) / 1000;
    const facts = await replicaFacts(kafka, admin, options.topic, topics, replicaGroups);
    const replicas = second
      .map((sample, i) => ({
        sample,
        status: replicaStatus(
          offsets,
          first[i]!,
          sample,
          seconds,
          now,
          options.stallAfterMs,
          facts.get(sample.replica) ?? NO_FACTS,
          options.offlineAfterMs,
        ),
      }))
      // A group that never committed on this topic belongs to another topic.
      .filter(({ sample }) => sample.committed.size > 0 && [...sample.committed.values()].some((offset) => offset >= 0))
      .map(({ status }) => status);
    const last = await readLastRecords(kafka, options.topic);
    const producer =
      last.length === 0
        ? undefined
        : { lastSeq: Math.max(...last.map((e) => e.seq)), lastPublishedAt: Math.max(...last.map((e) => e.ts)) };
    return {
      topic: options.topic,
      at: now,
      records: offsets.reduce((sum, o) => sum + o.high - o.low, 0),
      replicas,
      producer,
      partitions,
    };
  } finally {
    await admin.disconnect();
  }
}

export async function run(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const config = loadConfig(statusConfigSchema, {
    argv,
    env,
    booleanFlags: ['json', 'serve'],
    usage:
      'usage: mirrorlog status [--json] [--topic T] [--sample 2s] [--stall-after 60s] [--offline-after 2m]\n' +
      '       mirrorlog status --serve [--port 9470] [--bind ADDR] [--scrape URL]...\n\n' +
      'Lag, rate and last activity of every replica of a topic. ' +
      '"in sync" only with lag 0, no dead letters, no failing partition, ' +
      'one applier and a clean last verify; ' +
      'exit 1 when a replica is not in sync for another reason than catching up.\n' +
      '--serve: a live page of the same, with the last hour plotted, the producer and the dead letters.',
  });
  if (config === HELP_SHOWN) return 0;
  if (config.serve) return (await import('./status-page/serve.ts')).serveStatus(config);
  const report = await collectStatus({
    brokers: config.brokers,
    topic: config.topic,
    sampleMs: config.sample,
    stallAfterMs: config.stallAfter,
    offlineAfterMs: config.offlineAfter,
    logLevel: 'silent',
    security: kafkaClientSecurity(config),
  });
  process.stdout.write(config.json ? `${JSON.stringify(report, null, 2)}\n` : `${formatStatus(report)}\n`);
  return report.replicas.some(needsAttention) ? 1 : 0;
}
