// The status page's I/O: at each tick, the topic's offsets and every replica group's
// committed offsets from Kafka (one admin connection kept open), and each service's
// /metrics and /readyz. Failures become part of the sample, never an exception: the page
// shows what it could not read.
import type { Admin } from 'kafkajs';
import { deadLetterTopic } from '../../../schemas/content-key.ts';
import { settleWithin, withinMs } from '../../shared/deadline.ts';
import { createKafka } from '../../shared/kafka.ts';
import type { KafkaClientSecurity } from '../../shared/kafka-security.ts';
import type { Logger } from '../../shared/logger.ts';
import { replicaOfGroup } from '../../../schemas/names.ts';
import { parseCommitNote, type CommitNote, type GroupSample } from '../status-report.ts';
import type { KafkaSample, RawSample, ScrapeResult } from './page-model.ts';
import { parsePromText } from './prom-text.ts';

export type SamplerOptions = {
  brokers: string[];
  topic: string;
  scrape: readonly string[];
  logger: Logger;
  security?: KafkaClientSecurity;
};

const SCRAPE_TIMEOUT_MS = 2000;
/** A Kafka request can hang while a broker has just died; the tick shows that and the next one reconnects. */
const KAFKA_SAMPLE_WITHIN_MS = 10_000;

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** `/metrics` and `/readyz` of one service; its readiness from the same host and port. */
async function scrapeOne(url: string): Promise<ScrapeResult> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) });
    if (!response.ok) return { url, error: `HTTP ${response.status}` };
    const samples = parsePromText(await response.text());
    const readyz = new URL('/readyz', url);
    const ready = await fetch(readyz, { signal: AbortSignal.timeout(SCRAPE_TIMEOUT_MS) })
      .then(async (r) => ({ ok: r.ok, text: (await r.text()).trim() }))
      .catch((error: unknown) => ({ ok: false, text: `no answer: ${message(error)}` }));
    return { url, samples, ready };
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code;
    return { url, error: cause ?? message(error) };
  }
}

export class StatusSampler {
  private admin: Admin | undefined;

  constructor(private readonly options: SamplerOptions) {}

  async sample(at: () => number): Promise<RawSample> {
    const [kafka, scrapes] = await Promise.all([this.sampleKafka(), Promise.all(this.options.scrape.map(scrapeOne))]);
    return { at: at(), kafka, scrapes };
  }

  async close(): Promise<void> {
    const admin = this.admin;
    this.admin = undefined;
    if (admin !== undefined) await settleWithin(admin.disconnect(), 2000);
  }

  private async connected(): Promise<Admin> {
    if (this.admin !== undefined) return this.admin;
    const kafka = createKafka({
      brokers: this.options.brokers,
      clientId: 'mirrorlog-status-page',
      logger: this.options.logger,
      security: this.options.security ?? {},
      // One tick must answer: a broker that is down is shown, and the next tick tries again.
      retry: { retries: 1, maxRetryTime: 1000 },
    });
    const admin = kafka.admin();
    await admin.connect();
    this.admin = admin;
    return admin;
  }

  private async sampleKafka(): Promise<KafkaSample> {
    try {
      return await withinMs(this.readKafka(), KAFKA_SAMPLE_WITHIN_MS);
    } catch (error) {
      // A broken or hanging connection is dropped (bounded) and re-made at the next tick.
      await this.close();
      return { ok: false, error: `cannot read Kafka at ${this.options.brokers.join(',')}: ${message(error)}` };
    }
  }

  private async readKafka(): Promise<KafkaSample> {
    const { topic } = this.options;
    const admin = await this.connected();
    const topics = new Set(await admin.listTopics());
    if (!topics.has(topic))
      return { ok: false, error: `topic '${topic}' does not exist (no producer has run with it yet?)` };
    const offsets = (await admin.fetchTopicOffsets(topic)).map(({ partition, low, high }) => ({
      partition,
      low: Number(low),
      high: Number(high),
    }));
    const { groups } = await admin.listGroups();
    const ids = groups.map((g) => g.groupId).filter((id) => replicaOfGroup(id, topic) !== undefined);
    const samples = await Promise.all(ids.map((groupId) => this.group(admin, groupId)));
    const deadLetters: Record<string, number> = {};
    for (const { replica } of samples) {
      const dlq = deadLetterTopic(topic, replica);
      if (!topics.has(dlq)) continue;
      deadLetters[replica] = (await admin.fetchTopicOffsets(dlq)).reduce(
        (sum, o) => sum + Number(o.high) - Number(o.low),
        0,
      );
    }
    return { ok: true, offsets, groups: samples, deadLetters };
  }

  private async group(admin: Admin, groupId: string): Promise<GroupSample> {
    const committed = new Map<number, number>();
    const notes = new Map<number, CommitNote>();
    for (const entry of await admin.fetchOffsets({ groupId, topics: [this.options.topic] })) {
      for (const { partition, offset, metadata } of entry.partitions) {
        committed.set(partition, Number(offset));
        const note = parseCommitNote(metadata);
        if (note !== undefined) notes.set(partition, note);
      }
    }
    return { replica: replicaOfGroup(groupId, this.options.topic) ?? groupId, committed, notes };
  }
}
