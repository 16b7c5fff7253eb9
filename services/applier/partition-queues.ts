// Fetched records waiting for the apply lane, one FIFO per partition (a partition's
// order is the order its records must be applied in), visited round-robin.
import type { DecodeResult, RawRecord } from '../../schemas/codec.ts';

export type LaneRecord = {
  readonly partition: number;
  readonly offset: number;
  readonly raw: RawRecord;
  readonly decoded: DecodeResult;
  /** The content registered with the ContentSupply for this record, released when it is done. */
  contentKey?: string;
  /** The lane looked ahead at this record (counted in its prefetch window). */
  prefetched?: boolean;
  /** Applied again out of band (its content was healed): its offset is long past, positions are not touched. */
  reapplied?: boolean;
  /** Its write in flight failed: it is applied again synchronously, whose error handling covers every case. */
  synchronous?: boolean;
};

class Fifo {
  items: LaneRecord[] = [];
  head = 0;
  /** Index of the next record to prefetch content for (>= head). */
  ahead = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  shift(): LaneRecord | undefined {
    const item = this.items[this.head];
    if (item === undefined) return undefined;
    this.items[this.head++] = undefined as unknown as LaneRecord;
    if (this.ahead < this.head) this.ahead = this.head;
    // Compact now and then instead of Array.shift (O(n) per call).
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.ahead -= this.head;
      this.head = 0;
    }
    return item;
  }
}

/** What a queued record holds in memory, about: its value twice (as fetched, and decoded). */
function footprint(record: LaneRecord): number {
  return 2 * (record.raw.value?.length ?? 0) + 512;
}

export class PartitionQueues {
  private readonly fifos = new Map<number, Fifo>();
  private order: number[] = [];
  private turn = 0;
  private prefetchTurn = 0;
  private count = 0;
  private held = 0;

  get size(): number {
    return this.count;
  }

  /** About how many bytes the queued records hold. */
  get bytes(): number {
    return this.held;
  }

  push(partition: number, records: readonly LaneRecord[]): void {
    let fifo = this.fifos.get(partition);
    if (fifo === undefined) {
      fifo = new Fifo();
      this.fifos.set(partition, fifo);
      this.order = [...this.fifos.keys()].sort((a, b) => a - b);
    }
    for (const record of records) {
      fifo.items.push(record);
      this.held += footprint(record);
    }
    this.count += records.length;
  }

  /** Puts a record taken from a partition back at its head (its parallel write failed: applied again first). */
  unshift(partition: number, record: LaneRecord): void {
    const fifo = this.fifos.get(partition);
    if (fifo === undefined) return this.push(partition, [record]);
    if (fifo.head > 0) fifo.items[--fifo.head] = record;
    else {
      fifo.items.unshift(record);
      fifo.ahead++;
    }
    this.count++;
    this.held += footprint(record);
  }

  peek(partition: number): LaneRecord | undefined {
    const fifo = this.fifos.get(partition);
    return fifo === undefined ? undefined : fifo.items[fifo.head];
  }

  shift(partition: number): LaneRecord | undefined {
    const item = this.fifos.get(partition)?.shift();
    if (item !== undefined) {
      this.count--;
      this.held -= footprint(item);
    }
    return item;
  }

  /** Partitions holding records, starting after the one served last (fairness). */
  nonEmptyInTurn(): number[] {
    const result: number[] = [];
    const n = this.order.length;
    for (let i = 0; i < n; i++) {
      const partition = this.order[(this.turn + i) % n]!;
      if (this.fifos.get(partition)!.length > 0) result.push(partition);
    }
    this.turn = n === 0 ? 0 : (this.turn + 1) % n;
    return result;
  }

  /**
   * The next record to look ahead at, taking partitions in turn: the order in which the
   * lane will apply them, so content arrives in the order it is needed.
   */
  nextToPrefetch(): LaneRecord | undefined {
    const n = this.order.length;
    for (let i = 0; i < n; i++) {
      const fifo = this.fifos.get(this.order[(this.prefetchTurn + i) % n]!)!;
      if (fifo.ahead < fifo.items.length) {
        this.prefetchTurn = (this.prefetchTurn + i + 1) % n;
        return fifo.items[fifo.ahead++];
      }
    }
    return undefined;
  }

  /** Empties every queue, returning what was queued. */
  drain(): LaneRecord[] {
    const drained: LaneRecord[] = [];
    for (const fifo of this.fifos.values()) {
      for (let record = fifo.shift(); record !== undefined; record = fifo.shift()) drained.push(record);
      fifo.ahead = fifo.head;
    }
    this.count = 0;
    this.held = 0;
    return drained;
  }
}
