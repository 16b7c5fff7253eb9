// Partition offsets of a topic, and subscriptions to it, through the leadership errors that
// follow its creation.
import type { Admin, Consumer, ConsumerSubscribeTopics } from 'kafkajs';
import { retry } from './retry.ts';

/**
 * Errors a broker answers for a while after a topic was created or a leader moved: its
 * metadata is not everywhere yet. kafkajs retries them neither in listOffsets nor in subscribe.
 */
const LEADERSHIP_ERRORS: ReadonlySet<string> = new Set([
  'NOT_LEADER_FOR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
  'REPLICA_NOT_AVAILABLE',
]);

export function isLeadershipError(error: unknown): boolean {
  for (
    let cause = error as { type?: unknown; originalError?: unknown; cause?: unknown } | undefined, depth = 0;
    cause !== undefined && cause !== null && depth < 5;
    depth++
  ) {
    if (typeof cause.type === 'string' && LEADERSHIP_ERRORS.has(cause.type)) return true;
    cause = (cause.originalError ?? cause.cause) as typeof cause | undefined;
  }
  return false;
}

/** `admin.fetchTopicOffsets`, retried (bounded) through the leadership errors that follow a topic's creation. */
export async function fetchTopicOffsets(
  admin: Admin,
  topic: string,
  options: { retries?: number; minDelayMs?: number } = {},
): Promise<{ partition: number; low: number; high: number }[]> {
  const offsets = await retry(() => admin.fetchTopicOffsets(topic), {
    retries: options.retries ?? 20,
    minDelayMs: options.minDelayMs ?? 100,
    maxDelayMs: 2000,
    isRetryable: isLeadershipError,
  });
  return offsets.map(({ partition, low, high }) => ({ partition, low: Number(low), high: Number(high) }));
}

/**
 * `consumer.subscribe`, retried (bounded) through the same errors: a topic that was just
 * created, or checked to exist, can still be unknown to the broker's metadata for a moment.
 */
export async function subscribeToTopic(consumer: Consumer, subscription: ConsumerSubscribeTopics): Promise<void> {
  await retry(() => consumer.subscribe(subscription), {
    retries: 20,
    minDelayMs: 100,
    maxDelayMs: 2000,
    isRetryable: isLeadershipError,
  });
}
