// Feeds the apply lane from the replica's consumer group (kafkajs). Per-partition order
// is kept (kafkajs hands one partition's batches over one at a time) and partitions are
// fetched concurrently. eachBatch only queues (records are decoded lazily, in the lane's
// time slices) and resolves the batch at once, so fetching goes on while the lane
// applies; it waits only when the lane's queue is full (backpressure). autoCommit is off:
// kafkajs never commits on its own then (its runner only commits resolved offsets when
// autoCommit is on), and the applier commits what its durability points covered.
//
// Positions: the applier stores its own, with the index. After every (re)join it seeks
// each assigned partition to the next offset it has not queued yet, instead of the
// group's committed offset, which lags behind (it is committed after the index).
import type { Consumer, ConsumerGroupJoinEvent, EachBatchPayload, Kafka } from 'kafkajs';
import { decodeRecord, type DecodeResult, type RawRecord } from '../../../schemas/codec.ts';
import { settleWithin } from '../../shared/deadline.ts';
import { CliError } from '../../shared/errors.ts';
import { classifyFailure } from '../../shared/failure-kind.ts';
import { backoffDelay } from '../../shared/retry.ts';
import type { Logger } from '../../shared/logger.ts';
import { encodeReplicaNote } from '../../shared/replica-note.ts';
import type { ApplyLane } from '../apply-lane.ts';
import { judgeJoin, secondApplierMessage } from '../domain/replica-membership.ts';
import type { LaneRecord } from '../partition-queues.ts';
import type { Positions } from '../positions.ts';
import { subscribeToTopic } from '../../shared/kafka.ts';

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
  /** The consumer failed for good (not only Kafka unreachable), or this applier is a replica's second one. */
  readonly onFatal: (error: Error) => void;
  /** The replica's name, for the message a second applier exits with. */
  readonly replica: string;
  /** When the replica last applied something, as its group's commit notes said at start. */
  readonly appliedAt?: number;
}

export class KafkaRecordSource {
  private readonly consumer: Consumer;
  private stopping = false;
  private commits: Promise<void> = Promise.resolve();
  private readonly committed = new Map<number, number>();
  /** False once this applier found itself a replica's second one: it must never move the group's offsets. */
  private mayCommit = true;
  private joins = 0;
  /** Restarts since the last join (the backoff grows with them). */
  private restarts = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  /** The last start of the consumer, for a stop to wait for (its join must be left, too). */
  private running: Promise<void> | undefined;
  private appliedAt: number | undefined;
  private lastPositions: ReadonlyMap<number, number> = new Map();
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
    const { consumer } = this;
    consumer.on(consumer.events.GROUP_JOIN, (event: ConsumerGroupJoinEvent) => this.onJoin(event));
    consumer.on(consumer.events.CRASH, (event) => {
      if (!event.payload.restart && !this.stopping) this.onGaveUp(event.payload.error);
    });
    await this.run();
  }

  /**
   * kafkajs stops for good on some errors of an outage (no group coordinator found after its
   * retries, a connection that never came back): while Kafka is only unreachable, the
   * consumer is started again with visible backoff, and it rejoins at the lane's positions.
   * Refused credentials and anything else end the applier.
   */
  private onGaveUp(error: Error): void {
    if (classifyFailure(error) !== 'unreachable') {
      this.options.onFatal(error);
      return;
    }
    this.restarts += 1;
    const delayMs = backoffDelay(this.restarts, { minDelayMs: 1000, maxDelayMs: 30_000 });
    this.options.logger.warn(
      { err: error, restart: this.restarts, delayMs },
      'the Kafka consumer gave up while Kafka is unreachable; starting it again',
    );
    this.restartTimer = setTimeout(() => {
      if (this.stopping) return;
      this.run().catch((failed: unknown) => {
        if (this.stopping) return;
        void this.consumer.disconnect().catch(() => undefined);
        this.onGaveUp(failed as Error);
      });
    }, delayMs);
  }

  private run(): Promise<void> {
    this.running = this.join();
    return this.running;
  }

  private async join(): Promise<void> {
    const { consumer, options } = this;
    await consumer.connect();
    await subscribeToTopic(consumer, { topics: [options.topic], fromBeginning: true });
    // A member that joins after the stop's disconnect is never left: the group would wait a
    // session timeout for it before the replica's next applier could take over.
    if (this.stopping) return;
    await consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: options.partitions,
      eachBatch: (payload) => this.onBatch(payload),
    });
  }

  /** Commits the group's offsets (serialized; a failure is logged and retried at the next call). */
  commit(positions: ReadonlyMap<number, number>): void {
    if (!this.mayCommit) return;
    const moved = [...positions].filter(([partition, offset]) => this.committed.get(partition) !== offset);
    if (moved.length === 0) return;
    // A re-commit after a rebalance is not progress; only a position that moved is.
    if ([...positions].some(([partition, offset]) => this.lastPositions.get(partition) !== offset))
      this.appliedAt = Date.now();
    this.lastPositions = new Map(positions);
    this.send(moved, undefined);
  }

  /**
   * Commits the last positions again with a fresh note: `mirrorlog status` tells a live
   * applier from a gone one by it, and learns what keeps it from applying (`problem`).
   */
  heartbeat(problem: string | undefined): void {
    if (!this.mayCommit || this.stopping || this.assigned === undefined || this.lastPositions.size === 0) return;
    this.send([...this.lastPositions], problem);
  }

  /** The positions as committed last, for the heartbeat to repeat (set once at start from the group). */
  seedPositions(positions: ReadonlyMap<number, number>): void {
    if (this.lastPositions.size === 0) this.lastPositions = new Map(positions);
  }

  private send(positions: [number, number][], problem: string | undefined): void {
    const metadata = encodeReplicaNote({
      appliedAt: this.appliedAt ?? this.options.appliedAt,
      aliveAt: Date.now(),
      ...(problem === undefined ? {} : { problem }),
    });
    const offsets = positions.map(([partition, offset]) => ({
      topic: this.options.topic,
      partition,
      offset: String(offset),
      metadata,
    }));
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
    await settleWithin(this.commits, timeoutMs);
  }

  /** Stops queueing what is fetched (call before the lane stops). */
  pause(): void {
    this.stopping = true;
  }

  /** Leaves the group; bounded, since a broker that is gone would hold kafkajs forever. */
  async stop(timeoutMs = 15_000): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const running = this.running?.catch(() => undefined);
    await settleWithin(
      (async () => {
        await running;
        await this.consumer.disconnect();
      })(),
      timeoutMs,
    );
  }

  private onJoin(event: ConsumerGroupJoinEvent): void {
    const assigned = [...(event.payload.memberAssignment[this.options.topic] ?? [])].sort((a, b) => a - b);
    const verdict = judgeJoin(++this.joins === 1, assigned.length, this.options.partitions);
    if (verdict === 'newcomer-to-a-held-group') {
      // Another applier holds the group: leave without fetching, applying or committing.
      this.mayCommit = false;
      this.stopping = true;
      this.options.onFatal(new CliError(secondApplierMessage(this.options.replica, this.options.groupId, undefined)));
      return;
    }
    for (const partition of assigned) {
      const next = this.options.positions.nextToFetch(partition);
      if (next !== undefined) this.consumer.seek({ topic: this.options.topic, partition, offset: String(next) });
    }
    this.assigned = assigned;
    this.restarts = 0;
    // Commit every partition again after a rebalance: a member that was here meanwhile may have moved them.
    this.committed.clear();
    this.options.logger.info({ partitions: assigned, memberId: event.payload.memberId }, 'joined the replica group');
    if (verdict === 'another-joined') {
      this.options.logger.error(
        { partitions: assigned, group: this.options.groupId },
        'a second applier joined this replica group (the same --replica elsewhere?); it is told to leave. ' +
          'Each replica needs its own name and target',
      );
    }
  }

  private async onBatch(payload: EachBatchPayload): Promise<void> {
    if (this.stopping || !payload.isRunning() || payload.isStale()) return;
    const { batch } = payload;
    const { partition } = batch;
    const from = this.options.positions.nextToFetch(partition) ?? 0;
    const records: LaneRecord[] = [];
    for (const message of batch.messages) {
      const offset = Number(message.offset);
      if (offset < from) continue; // already queued before a rebalance
      records.push(
        laneRecord(partition, offset, { key: message.key, value: message.value, headers: message.headers ?? {} }),
      );
    }
    this.options.lane.enqueue(partition, records, Number(batch.highWatermark));
    if (batch.messages.length > 0) payload.resolveOffset(batch.lastOffset());
    await this.options.lane.waitForRoom(() => payload.heartbeat());
  }
}
