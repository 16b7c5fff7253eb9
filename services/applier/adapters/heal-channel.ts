// Healing, applier side (issue 20, M3): content found missing or corrupt in the store is
// never uploaded again by itself, so every replica that needs it would miss the file for
// good. The applier dead-letters the record as before, and also
//  1. asks the producer side to upload the content again (the heal-request topic,
//     schemas/heal-request.ts; services/producer/heal-responder.ts answers), and
//  2. keeps the record and looks at the store now and then: once the object is there
//     again (newer than the request, for a corrupt one) it hands the record back to be
//     applied once more (the lane re-applies it out of band: last-writer-wins skips it
//     if the path has moved on meanwhile).
// Bounded: at most MAX_WAITING records wait, each for at most GIVE_UP_MS.
import type { Kafka, Producer } from 'kafkajs';
import { healTopic } from '../../../schemas/content-key.ts';
import { encodeHealRequest, type HealRequest } from '../../../schemas/heal-request.ts';
import type { ContentStore } from '../../shared/content-store.ts';
import type { Logger } from '../../shared/logger.ts';
import type { LaneRecord } from '../partition-queues.ts';

const MAX_WAITING = 10_000;
const GIVE_UP_MS = 3_600_000;

type Waiting = { hash: string; since: number; record: LaneRecord };

export interface HealChannelOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly replica: string;
  readonly store: Pick<ContentStore, 'stat'>;
  readonly logger: Logger;
  /** Records whose content is back: apply them again. */
  readonly onHealed: (records: LaneRecord[]) => void;
  readonly checkEveryMs?: number;
  readonly now?: () => number;
}

export class HealChannel {
  private readonly producer: Producer;
  private readonly waiting: Waiting[] = [];
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  private connected: Promise<void> | undefined;
  readonly topic: string;

  constructor(private readonly options: HealChannelOptions) {
    this.topic = healTopic(options.topic);
    // A few retries, not the client's endless ones: without a heal topic (an older
    // producer) a request fails in seconds, is logged, and holds nothing open.
    this.producer = options.kafka.producer({
      allowAutoTopicCreation: false,
      retry: { retries: 3, initialRetryTime: 300, maxRetryTime: 2000 },
    });
  }

  /** Asks for the content of `record` (a file event) to be uploaded again, and waits for it. */
  request(record: LaneRecord, request: Omit<HealRequest, 'v' | 'replica'>): void {
    const now = this.options.now?.() ?? Date.now();
    if (this.waiting.length < MAX_WAITING) this.waiting.push({ hash: request.hash, since: now, record });
    this.timer ??= setInterval(() => void this.check(), this.options.checkEveryMs ?? 5000);
    this.timer.unref();
    this.send({ v: 1, replica: this.options.replica, ...request }).catch((error: unknown) =>
      this.options.logger.warn(
        { err: error, topic: this.topic, hash: request.hash },
        'cannot send a heal request (is the producer of this tree older than the heal topic?)',
      ),
    );
  }

  private async send(request: HealRequest): Promise<void> {
    this.connected ??= this.producer.connect();
    await this.connected;
    await this.producer.send({ topic: this.topic, acks: -1, messages: [encodeHealRequest(request)] });
  }

  /** Looks at the store for every awaited object; hands back the records whose content is back. */
  async check(): Promise<void> {
    if (this.checking || this.waiting.length === 0) return;
    this.checking = true;
    try {
      const now = this.options.now?.() ?? Date.now();
      const healed: LaneRecord[] = [];
      const seen = new Map<string, boolean>();
      for (let i = this.waiting.length - 1; i >= 0; i--) {
        const item = this.waiting[i]!;
        let back = seen.get(`${item.hash}:${item.since}`);
        if (back === undefined) {
          const stored = await this.options.store.stat(item.hash).catch(() => undefined);
          // Uploaded again after the request (a corrupt object is still "there" before).
          back = stored !== undefined && stored.lastModified.getTime() >= item.since - 1000;
          seen.set(`${item.hash}:${item.since}`, back);
        }
        if (back) healed.push(item.record);
        if (back || now - item.since > GIVE_UP_MS) this.waiting.splice(i, 1);
      }
      if (healed.length > 0) {
        this.options.logger.info({ records: healed.length }, 'content uploaded again: applying its records once more');
        this.options.onHealed(healed.reverse());
      }
    } finally {
      this.checking = false;
    }
  }

  get waitingCount(): number {
    return this.waiting.length;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    if (this.connected !== undefined)
      await this.connected.then(() => this.producer.disconnect()).catch(() => undefined);
  }
}
