// Healing, producer side (issue 20, M3): answers heal requests (schemas/heal-request.ts)
// from appliers that found a store object missing or not matching its hash. The source
// file at the request's path is read again; if it still holds that content, it is
// uploaded again (the upload checks the hash while it streams, and replaces whatever the
// store holds under that name). Otherwise the path has changed since, and its newer event
// references other content: nothing to do.
//
// Its own consumer group (healGroup) on the tree's heal topic, which the producer creates
// (short retention: a request is useful for minutes, not weeks).
import { settleWithin } from '../shared/deadline.ts';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import { healTopic } from '../../schemas/content-key.ts';
import { decodeHealRequest, type HealRequest } from '../../schemas/heal-request.ts';
import type { ContentStore } from '../shared/content-store.ts';
import { classifyFailure } from '../shared/failure-kind.ts';
import { ensureDeadLetterTopic, subscribeToTopic } from '../shared/kafka.ts';
import type { Logger } from '../shared/logger.ts';
import { retry, sleep } from '../shared/retry.ts';

const HEAL_RETENTION_MS = 24 * 3600 * 1000;

export type HealOutcome = 'uploaded' | 'changed' | 'gone';

export interface HealResponderOptions {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly topic: string;
  readonly source: string;
  /** The source root (absolute). */
  readonly root: string;
  readonly store: Pick<ContentStore, 'putFile'>;
  readonly logger: Logger;
  readonly onHealed?: (outcome: HealOutcome) => void;
  /** How a failed join waits before the next try (tests do not wait). */
  readonly delay?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
}

async function sha256OfFile(path: string): Promise<string> {
  const digest = createHash('sha256');
  for await (const chunk of createReadStream(path)) digest.update(chunk as Buffer);
  return digest.digest('hex');
}

/** Uploads the file at the request's path again if it still holds the requested content. */
export async function healOne(
  root: string,
  store: Pick<ContentStore, 'putFile'>,
  request: HealRequest,
): Promise<HealOutcome> {
  // The path was validated by the schema (relative, normalized): it stays inside the root.
  const file = join(root, request.path);
  const stats = await lstat(file).catch(() => undefined);
  if (stats === undefined || !stats.isFile()) return 'gone';
  if (stats.size !== request.size || (await sha256OfFile(file)) !== request.hash) return 'changed';
  await store.putFile(request.hash, file, request.size);
  return 'uploaded';
}

/**
 * The responder's consumer group: one per topic and source, so that producers of other
 * trees never join it (a member of another tree's group would hold its rebalances).
 */
export function healGroup(topic: string, source: string): string {
  return `mirrorlog.heal.${topic}.${source}`;
}

export class HealResponder {
  private readonly consumer: Consumer;
  private starting: Promise<void> | undefined;
  private readonly stopped = new AbortController();

  constructor(private readonly options: HealResponderOptions) {
    this.consumer = options.kafka.consumer({
      groupId: healGroup(options.topic, options.source),
      allowAutoTopicCreation: false,
    });
  }

  /**
   * Joins the heal topic's group, trying again with backoff (and a warning each time)
   * while Kafka is away: until then, no heal request is answered. Refused credentials or
   * permissions are final.
   */
  start(): Promise<void> {
    this.starting ??= retry(() => this.join(), {
      minDelayMs: 1000,
      maxDelayMs: 60_000,
      signal: this.stopped.signal,
      delay: this.options.delay ?? sleep,
      isRetryable: (error) => classifyFailure(error) !== 'auth',
      onRetry: ({ error, retry: attempt, delayMs }) =>
        this.options.logger.warn(
          { err: error, retry: attempt, delayMs },
          `cannot join the heal topic yet; trying again in ${(delayMs / 1000).toFixed(1)} s`,
        ),
    });
    return this.starting;
  }

  private async join(): Promise<void> {
    const { options } = this;
    const topic = healTopic(options.topic);
    // Same shape as a dead-letter topic: one partition, deletion after a retention.
    await ensureDeadLetterTopic(options.admin, topic, { retentionMs: HEAL_RETENTION_MS });
    // A stop during the start: joining now would leave a member behind that never leaves the
    // group (the process ends), and the group would wait a session timeout for it.
    if (this.stopped.signal.aborted) return;
    await this.consumer.connect();
    await subscribeToTopic(this.consumer, { topics: [topic], fromBeginning: true });
    if (this.stopped.signal.aborted) return;
    await this.consumer.run({
      eachMessage: async ({ message }) => {
        const request = decodeHealRequest(message.value);
        if (request === undefined)
          return options.logger.warn({ topic }, 'skipping a record of the heal topic that is not a heal request');
        try {
          const outcome = await healOne(options.root, options.store, request);
          options.onHealed?.(outcome);
          options.logger.info(
            { hash: request.hash, path: request.path, replica: request.replica, reason: request.reason, outcome },
            'heal request handled',
          );
        } catch (error) {
          // The upload failed (store down, file changed while read): a later request asks again.
          options.logger.warn({ err: error, hash: request.hash, path: request.path }, 'cannot answer a heal request');
        }
      },
    });
  }

  /** Leaves the group; a start still under way is waited for first, so its join is left too. */
  async stop(): Promise<void> {
    this.stopped.abort(new Error('the producer is stopping'));
    if (this.starting !== undefined) await settleWithin(this.starting, 10_000);
    await settleWithin(this.consumer.disconnect(), 10_000);
  }
}
