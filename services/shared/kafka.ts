// The Kafka client every service and command makes, and a fail-fast probe of the cluster.
// The topics mirrorlog depends on live beside it (events-topic.ts, dead-letter-topic.ts,
// topic-admin.ts, topic-offsets.ts); they are re-exported here so callers keep one import.
import kafkajs from 'kafkajs';
import type { Kafka, RetryOptions as KafkaRetryOptions } from 'kafkajs';
import { installBoundedGzip } from './bounded-gzip.ts';
import type { KafkaClientSecurity } from './kafka-security.ts';
import { kafkaLogCreator, kafkaLogLevelFor } from './logger.ts';
import type { Logger } from './logger.ts';

export { closableKafka, type ClosableKafka } from './closable-kafka.ts';
export { DEAD_LETTER_HEADROOM_BYTES, DEAD_LETTER_RETENTION_MS, ensureDeadLetterTopic } from './dead-letter-topic.ts';
export {
  checkEventsTopic,
  ensureTopic,
  eventsTopicConfig,
  MAX_BATCH_BYTES,
  type EventsTopicSpec,
} from './events-topic.ts';
export { describeTopicConfig, type ConfigDrift, type EnsureTopicResult } from './topic-admin.ts';
export { MissingTopicError, TopicMismatchError } from './topic-errors.ts';
export { fetchTopicOffsets, isLeadershipError, subscribeToTopic } from './topic-offsets.ts';

// kafkajs' CommonJS exports are only partly visible as ESM named exports.
const { Kafka: KafkaClient } = kafkajs;

/**
 * kafkajs gives up after 5 retries (~10 s) by default: a broker restart would then
 * crash every service. Retry with capped backoff until it comes back (kafkajs itself
 * uses MAX_SAFE_INTEGER as "forever" for the idempotent producer).
 */
export const KAFKA_RETRY: KafkaRetryOptions = {
  initialRetryTime: 300,
  maxRetryTime: 30_000,
  multiplier: 2,
  factor: 0.2,
  retries: Number.MAX_SAFE_INTEGER,
};

export interface CreateKafkaOptions {
  readonly brokers: readonly string[];
  /** Shows in broker logs and quotas, e.g. `mirrorlog-producer-<source>`. */
  readonly clientId: string;
  readonly logger: Logger;
  readonly retry?: KafkaRetryOptions;
  /** TLS and SASL (kafkaClientSecurity(config)); plaintext when absent. */
  readonly security?: KafkaClientSecurity;
}

/**
 * A kafkajs client logging through pino. Producers and consumers made from it should
 * pass `allowAutoTopicCreation: false`: a broker with auto-creation on would otherwise
 * create a mistyped topic uncompacted, with the broker's default partition count.
 */
export function createKafka(options: CreateKafkaOptions): Kafka {
  installBoundedGzip(); // fetched batches inflate to a bounded size (bounded-gzip.ts)
  return new KafkaClient({
    clientId: options.clientId,
    brokers: [...options.brokers],
    logLevel: kafkaLogLevelFor(options.logger),
    logCreator: kafkaLogCreator(options.logger),
    connectionTimeout: 3000,
    requestTimeout: 30_000,
    retry: { ...KAFKA_RETRY, ...options.retry },
    ...(options.security?.ssl === undefined ? {} : { ssl: options.security.ssl }),
    ...(options.security?.sasl === undefined ? {} : { sasl: options.security.sasl }),
  });
}

/**
 * One attempt to reach the cluster, failing fast (the service clients retry forever, which
 * at start would hide an unreachable or refusing broker behind endless retries).
 */
export async function probeKafka(
  brokers: readonly string[],
  logger: Logger,
  security?: KafkaClientSecurity,
): Promise<void> {
  const admin = createKafka({
    brokers: [...brokers],
    clientId: 'mirrorlog-probe',
    logger: logger.child({ probe: true }, { level: 'silent' }),
    ...(security === undefined ? {} : { security }),
    retry: { retries: 0 },
  }).admin();
  try {
    await admin.connect();
    await admin.describeCluster();
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
