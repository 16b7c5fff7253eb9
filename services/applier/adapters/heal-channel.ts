// Healing, applier side (issue 20, M3): content found missing or corrupt in the store is
// never uploaded again by itself, so every replica that needs it would miss the file for
// good. The applier dead-letters the record as before, and also
//  1. asks the producer side to upload the content again (the heal-request topic,
//     schemas/heal-request.ts; services/producer/heal-responder.ts answers), and
//  2. keeps the record and looks at the store now and then: once the object is there
//     again (newer than the request, for a corrupt one) it hands the record back to be
//     applied once more (the lane re-applies it out of band: last-writer-wins skips it
//     if the path has moved on meanwhile).
// The waits are kept with the index (in the lane's transaction, so with the positions
// that pass the record) until the record is applied again: an applier that restarts
// before the producer answered asks again for what it still lacks, as it does now and
// then while it waits (a request the producer could not answer, its store down, is not
// lost either). Bounded: at most MAX_WAITING records wait, each for at most GIVE_UP_MS.
import type { Kafka, Producer } from 'kafkajs';
import { decodeRecord, type RawRecord } from '../../../schemas/codec.ts';
import { healTopic } from '../../../schemas/content-key.ts';
import { encodeHealRequest, type HealRequest } from '../../../schemas/heal-request.ts';
import type { ContentStore } from '../../shared/content-store.ts';
import type { Logger } from '../../shared/logger.ts';
import type { LaneRecord } from '../partition-queues.ts';
import type { HealWait, ReplicaIndex } from './applied-index.ts';

const MAX_WAITING = 10_000;
/** As long as the heal topic keeps a request (heal-responder.ts). */
const GIVE_UP_MS = 24 * 3_600_000;
/** A wait whose content is not back is looked at less and less often, down to this. */
const MAX_CHECK_EVERY_MS = 300_000;
const RESEND_EVERY_MS = 600_000;

type HealAsk = Omit<HealRequest, 'v' | 'replica'>;
type Waiting = { since: number; record: LaneRecord; ask: HealAsk; askedAt: number; checkAt: number; every: number };

const positionOf = (record: Pick<LaneRecord, 'partition' | 'offset'>) => `${record.partition}:${record.offset}`;
const bytes = (value: Buffer | string | null) => (value === null ? null : Buffer.from(value));

/** The record as the index keeps it (headers as text: a decodable event's headers are). */
function toWait(record: LaneRecord, ask: HealAsk, since: number): HealWait {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.raw.headers ?? {})) {
    const first = Array.isArray(value) ? value[0] : value;
    if (first !== undefined) headers[name] = first.toString();
  }
  return {
    partition: record.partition,
    offset: record.offset,
    hash: ask.hash,
    reason: ask.reason,
    since,
    key: bytes(record.raw.key),
    value: bytes(record.raw.value),
    headers,
  };
}

/** The record and its request back from the index; undefined for one that is no file event. */
function fromWait(wait: HealWait): { record: LaneRecord; ask: HealAsk } | undefined {
  const raw: RawRecord = { key: wait.key, value: wait.value, headers: wait.headers };
  const decoded = decodeRecord(raw);
  if (!decoded.ok || decoded.event.op !== 'file') return undefined;
  const { hash, size, path } = decoded.event;
  return {
    record: { partition: wait.partition, offset: wait.offset, raw, decoded },
    ask: { hash, size, path, reason: wait.reason },
  };
}

export interface HealChannelOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly replica: string;
  readonly store: Pick<ContentStore, 'stat'>;
  /** Where the waits are kept across restarts. */
  readonly waits: Pick<ReplicaIndex, 'healWaits' | 'recordHealWait' | 'dropHealWait'>;
  readonly logger: Logger;
  /** Records whose content is back: apply them again (then call settled()). */
  readonly onHealed: (records: LaneRecord[]) => void;
  /** How many records wait now, after every change. */
  readonly onWaiting?: (count: number) => void;
  readonly checkEveryMs?: number;
  readonly resendEveryMs?: number;
  readonly now?: () => number;
}

export class HealChannel {
  private readonly producer: Producer;
  private readonly waiting = new Map<string, Waiting>();
  /** Handed back to be applied, and not yet settled: kept in the index, not looked at again. */
  private readonly handedBack = new Set<string>();
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

  private now(): number {
    return this.options.now?.() ?? Date.now();
  }

  /**
   * Takes up the waits an earlier run kept, and asks again for their content: the
   * producer may never have seen those requests, or could not answer them.
   */
  resume(): number {
    const kept = this.options.waits.healWaits(MAX_WAITING);
    const now = this.now();
    const asks = new Map<string, HealAsk>();
    for (const wait of kept) {
      const restored = fromWait(wait);
      if (restored === undefined) {
        this.options.waits.dropHealWait(wait.partition, wait.offset);
        continue;
      }
      const every = this.options.checkEveryMs ?? 5000;
      this.waiting.set(positionOf(restored.record), {
        since: wait.since,
        ...restored,
        askedAt: now,
        checkAt: now,
        every,
      });
      asks.set(restored.ask.hash, restored.ask);
    }
    this.counted();
    if (this.waiting.size > 0) {
      this.options.logger.info(
        { records: this.waiting.size, objects: asks.size },
        'asking again for content an earlier run was waiting for',
      );
      for (const ask of asks.values()) this.ask(ask);
      this.startTimer();
    }
    return this.waiting.size;
  }

  /** Asks for the content of `record` (a file event) to be uploaded again, and waits for it. */
  request(record: LaneRecord, ask: HealAsk): void {
    const now = this.now();
    const position = positionOf(record);
    if (this.waiting.size < MAX_WAITING || this.waiting.has(position)) {
      const every = this.options.checkEveryMs ?? 5000;
      this.waiting.set(position, { since: now, record, ask, askedAt: now, checkAt: now + every, every });
      this.handedBack.delete(position);
      this.options.waits.recordHealWait(toWait(record, ask, now));
      this.counted();
    }
    this.startTimer();
    this.ask(ask);
  }

  /** The record handed back by onHealed was applied (or failed for good): its wait is over. */
  settled(record: Pick<LaneRecord, 'partition' | 'offset'>): void {
    if (!this.handedBack.delete(positionOf(record))) return;
    this.options.waits.dropHealWait(record.partition, record.offset);
    this.counted();
  }

  private counted(): void {
    this.options.onWaiting?.(this.waiting.size + this.handedBack.size);
  }

  /** Out of the index, from the timer: an index that cannot be written (its disk full) keeps the wait. */
  private forget(record: LaneRecord): void {
    try {
      this.options.waits.dropHealWait(record.partition, record.offset);
    } catch (error) {
      this.options.logger.warn({ err: error }, 'cannot drop a heal wait from the index');
    }
  }

  private startTimer(): void {
    this.timer ??= setInterval(() => void this.check(), this.options.checkEveryMs ?? 5000);
    this.timer.unref();
  }

  private ask(ask: HealAsk): void {
    this.send({ v: 1, replica: this.options.replica, ...ask }).catch((error: unknown) =>
      this.options.logger.warn(
        { err: error, topic: this.topic, hash: ask.hash },
        'cannot send a heal request (is the producer of this tree older than the heal topic?)',
      ),
    );
  }

  private async send(request: HealRequest): Promise<void> {
    // A connect that failed (Kafka away) is tried again by the next request, not kept.
    this.connected ??= this.producer.connect().catch((error: unknown) => {
      this.connected = undefined;
      throw error;
    });
    await this.connected;
    await this.producer.send({ topic: this.topic, acks: -1, messages: [encodeHealRequest(request)] });
  }

  /** Looks at the store for every awaited object due; hands back the records whose content is back. */
  async check(): Promise<void> {
    if (this.checking || this.waiting.size === 0) return;
    this.checking = true;
    try {
      const now = this.now();
      const healed: LaneRecord[] = [];
      const seen = new Map<string, boolean>();
      const resend = new Map<string, HealAsk>();
      for (const [position, item] of this.waiting) {
        if (now - item.since > GIVE_UP_MS) {
          this.options.logger.warn(
            { path: item.ask.path, hash: item.ask.hash },
            'content was not uploaded again in time; the record stays a dead letter',
          );
          this.waiting.delete(position);
          this.forget(item.record);
          continue;
        }
        if (now < item.checkAt) continue;
        const seenKey = `${item.ask.hash}:${item.since}`;
        let back = seen.get(seenKey);
        if (back === undefined) {
          const stored = await this.options.store.stat(item.ask.hash).catch(() => undefined);
          // Uploaded again after the request (a corrupt object is still "there" before).
          back = stored !== undefined && stored.lastModified.getTime() >= item.since - 1000;
          seen.set(seenKey, back);
        }
        if (back) {
          healed.push(item.record);
          this.waiting.delete(position);
          this.handedBack.add(position);
          continue;
        }
        item.every = Math.min(item.every * 2, MAX_CHECK_EVERY_MS);
        item.checkAt = now + item.every;
        if (now - item.askedAt >= (this.options.resendEveryMs ?? RESEND_EVERY_MS)) {
          item.askedAt = now;
          resend.set(item.ask.hash, item.ask);
        }
      }
      for (const ask of resend.values()) this.ask(ask);
      this.counted();
      if (healed.length > 0) {
        this.options.logger.info({ records: healed.length }, 'content uploaded again: applying its records once more');
        this.options.onHealed(healed);
      }
    } finally {
      this.checking = false;
    }
  }

  get waitingCount(): number {
    return this.waiting.size;
  }

  async close(): Promise<void> {
    clearInterval(this.timer);
    if (this.connected !== undefined)
      await this.connected.then(() => this.producer.disconnect()).catch(() => undefined);
  }
}
