// What an applier asks its servers at start. One attempt at each server it needs, with
// clients that do not retry by themselves (until-reachable.ts retries, one log line per
// step) and log nothing of their own: an unreachable broker would otherwise print
// several lines per attempt. And the replica's dead-letter topic, made on demand.
import { kafkaClientSecurity } from '../shared/kafka-security.ts';
import type { ApplierConfig } from '../../schemas/config.ts';
import type { ContentStore } from '../shared/content-store.ts';
import type { Admin } from 'kafkajs';
import { checkEventsTopic, createKafka, ensureDeadLetterTopic, type ConfigDrift } from '../shared/kafka.ts';
import type { Logger } from '../shared/logger.ts';
import { parseReplicaNote } from '../shared/replica-note.ts';
import { retry } from '../shared/retry.ts';
import { S3ContentStore, s3OptionsFromConfig } from '../shared/s3-content-store.ts';

/** Connects once and checks the events topic (never creating it). */
export async function checkKafka(config: ApplierConfig, logger: Logger): Promise<readonly ConfigDrift[]> {
  const quiet = logger.child({}, { level: 'silent' });
  const kafka = createKafka({
    brokers: config.brokers,
    clientId: `mirrorlog-applier-${config.replica}`,
    logger: quiet,
    security: kafkaClientSecurity(config),
    retry: { retries: 0 },
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  await admin.connect();
  try {
    return await checkEventsTopic(admin, {
      topic: config.topic,
      partitions: config.partitions,
      historyWindowMs: config.historyWindow,
    });
  } finally {
    await admin.disconnect();
  }
}

/** One listing request: refused credentials, a missing bucket or an unreachable server show here. */
export async function checkStore(config: ApplierConfig, given: ContentStore | undefined): Promise<void> {
  const store = given ?? new S3ContentStore({ ...s3OptionsFromConfig(config), retry: { retries: 0 } });
  try {
    for await (const _ of store.list('0'.repeat(64))) break;
  } finally {
    if (given === undefined && store instanceof S3ContentStore) store.close();
  }
}

/** When the replica last applied something, as its group's commit notes say. */
export async function lastAppliedAt(admin: Admin, groupId: string, topic: string): Promise<number | undefined> {
  let latest: number | undefined;
  for (const entry of await admin.fetchOffsets({ groupId, topics: [topic] })) {
    for (const { metadata } of entry.partitions) {
      const at = parseReplicaNote(metadata)?.appliedAt;
      if (at !== undefined) latest = Math.max(latest ?? at, at);
    }
  }
  return latest;
}

/**
 * The dead-letter topic, created at the first call (then reused): only a replica with
 * something to report gets one. Retried with backoff until it exists or `signal` aborts.
 */
export function deadLetterTopicOnDemand(
  admin: Admin,
  topic: string,
  options: {
    logger: Logger;
    signal: AbortSignal;
    topicOptions?: Parameters<typeof ensureDeadLetterTopic>[2];
  },
): () => Promise<unknown> {
  let ready: Promise<unknown> | undefined;
  return () =>
    (ready ??= retry(() => ensureDeadLetterTopic(admin, topic, options.topicOptions), {
      minDelayMs: 500,
      maxDelayMs: 30_000,
      signal: options.signal,
      onRetry: ({ error, retry: attempt, delayMs }) =>
        options.logger.warn(
          { err: error, topic, retry: attempt, delayMs },
          'cannot create the dead-letter topic; retrying',
        ),
    }));
}
