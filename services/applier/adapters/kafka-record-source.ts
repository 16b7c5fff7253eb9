// Feeds the apply lane from the replica's consumer group (kafkajs). Per-partition order
// is kept (kafkajs hands one partition's batches over one at a time) and partitions are
// fetched concurrently. eachBatch only queues (records are decoded lazily, in the lane's
// time slices) and resolves the batch at once, so fetching goes on while the lane
// applies; it waits only when the lane's queue is full (backpressure). autoCommit is off: kafkajs never commits on its own then (its
// runner only commits resolved offsets when autoCommit is on), and the applier commits
// what its durability points covered.
//
// Positions: the applier stores its own, with the index. After every (re)join it seeks
// each assigned partition to the next offset it has not queued yet, instead of the
// group's committed offset, which lags behind (it is committed after the index).
import type { Consumer, ConsumerGroupJoinEvent, EachBatchPayload, Kafka } from 'kafkajs';
import { decodeRecord, type DecodeResult, type RawRecord } from '../../../schemas/codec.ts';
import type { Logger } from '../../shared/logger.ts';
import type { ApplyLane } from '../apply-lane.ts';
import type { LaneRecord } from '../partition-queues.ts';
import type { Positions } from '../positions.ts';
import { encodeCommitNote } from '../../../schemas/names.ts';

/** A queued record, decoded when the lane first looks at it (in its time slices, not in one burst per fetch). */
function laneRecord(partition: number, offset: number, raw: RawRecord): LaneRecord {
  let decoded: DecodeResult | undefined;
  return {
    partition,
    offset,
    raw,
    get decoded() {
      return (decoded ??= decodeRecord(raw));
    },
  };
}

export interface KafkaRecordSourceOptions {
  readonly kafka: Kafka;
  readonly topic: string;
  readonly groupId: string;
  readonly partitions: number;
  readonly lane: ApplyLane;
  readonly positions: Positions;
  readonly logger: Logger;
  readonly sessionTimeoutMs: number;
  /** The consumer crashed and kafkajs will not restart it. */
  readonly onFatal: (error: Error) => void;
}

export class KafkaRecordSource {
  private readonly consumer: Consumer;
  private stopping = false;
  private commits: Promise<void> = Promise.resolve();
  private readonly committed = new Map<number, number>();
  /** Partitions assigned by the last join; undefined before the first. */
  assigned: number[] | undefined;

  constructor(private readonly options: KafkaRecordSourceOptions) {
    this.consumer = options.kafka.consumer({
      groupId: options.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: options.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(options.sessionTimeoutMs / 10)),
      maxBytesPerPartition: 2 * 1024 * 1024,
      maxBytes: 32 * 1024 * 1024,
      maxWaitTimeInMs: 500,
    });
  }

  async start(): Promise<void> {
    const { consumer, options } = this;
    consumer.on(consumer.events.GROUP_JOIN, (event: ConsumerGroupJoinEvent) => this.onJoin(event));
    consumer.on(consumer.events.CRASH, (event) => {
      if (!event.payload.restart && !this.stopping) options.onFatal(event.payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: [options.topic], fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.partitions,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  /** Commits the group's offsets (serialized; a failure is logged and retried at the next call). */
  commit(positions: ReadonlyMap<number, number>): void {
    // The note tells `mirrorlog status` when this replica last applied something.
    const metadata = encodeCommitNote({ appliedAt: Date.now() });
    const offsets = [...positions]
      .filter(([partition, offset]) => this.committed.get(partition) !== offset)
      .map(([partition, offset]) => ({ topic: this.options.topic, partition, offset: String(offset), metadata }));
    if (offsets.length === 0) return;
    this.commits = this.commits.then(async () => {
      try {
        await this.consumer.commitOffsets(offsets);
        for (const { partition, offset } of offsets) this.committed.set(partition, Number(offset));
      } catch (error) {
        this.options.logger.warn({ err: error }, 'cannot commit offsets to the group; will retry');
      }
    });
  }

  /** Waits (at most `timeoutMs`) for the commits issued so far. */
  async flushCommits(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.commits, timeout]);
    clearTimeout(timer);
  }

  /** Stops queueing what is fetched (call before the lane stops). */
  pause(): void {
    this.stopping = true;
  }

  /** Leaves the group; bounded, since a broker that is gone would hold kafkajs forever. */
  async stop(timeoutMs = 15_000): Promise<void> {
    this.stopping = true;
    let timer: NodeJS.Timeout | undefined;
    const gaveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    await Promise.race([this.consumer.disconnect(), gaveUp]);
    clearTimeout(timer);
  }

  private onJoin(event: ConsumerGroupJoinEvent): void {
    const assigned = [...(event.payload.memberAssignment[this.options.topic] ?? [])].sort((a, b) => a - b);
    for (const partition of assigned) {
      const next = this.options.positions.nextToFetch(partition);
      if (next !== undefined) this.consumer.seek({ topic: this.options.topic, partition, offset: String(next) });
    }
    this.assigned = assigned;
    this.options.logger.info({ partitions: assigned, memberId: event.payload.memberId }, 'joined the replica group');
    if (assigned.length < this.options.partitions) {
      // One replica is one applier: another member means two appliers share the group.
      this.options.logger.error(
        { partitions: assigned, group: this.options.groupId },
        'the replica group has another member: is a second applier running with the same --replica? Each replica needs its own name and target',
      );
    }
  }

  private async onBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (this.stopping || !isRunning() || isStale()) return;
    const { partition } = batch;
    const from = this.options.positions.nextToFetch(partition) ?? 0;
    const records: LaneRecord[] = [];
    for (const message of batch.messages) {
      const offset = Number(message.offset);
      if (offset < from) continue; // already queued before a rebalance
      records.push(laneRecord(partition, offset, { key: message.key, value: message.value, headers: message.headers ?? {} }));
    }
    this.options.lane.enqueue(partition, records, Number(batch.highWatermark));
    if (batch.messages.length > 0) resolveOffset(batch.lastOffset());
    await this.options.lane.waitForRoom(heartbeat);
  }
}
