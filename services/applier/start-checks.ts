// One attempt at each server an applier needs at start, with clients that do not retry
// by themselves (until-reachable.ts retries, one log line per step) and log nothing of
// their own: an unreachable broker would otherwise print several lines per attempt.
import type { ApplierConfig } from '../../schemas/config.ts';
import type { ContentStore } from '../shared/content-store.ts';
import { checkEventsTopic, createKafka, type ConfigDrift } from '../shared/kafka.ts';
import type { Logger } from '../shared/logger.ts';
import { S3ContentStore, s3OptionsFromConfig } from '../shared/s3-content-store.ts';

/** Connects once and checks the events topic (never creating it). */
export async function checkKafka(config: ApplierConfig, logger: Logger): Promise<readonly ConfigDrift[]> {
  const quiet = logger.child({}, { level: 'silent' });
  const kafka = createKafka({ brokers: config.brokers, clientId: `mirrorlog-applier-${config.replica}`, logger: quiet, retry: { retries: 0 } });
  const admin = kafka.admin({ retry: { retries: 0 } });
  await admin.connect();
  try {
    return await checkEventsTopic(admin, { topic: config.topic, partitions: config.partitions, historyWindowMs: config.historyWindow });
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
