// Per partition offsets of the apply lane:
//  - fetchNext: the next offset to fetch (everything before was queued): where to seek after a rebalance;
//  - applyNext: the next offset to apply (everything before was applied, skipped or dead-lettered);
//  - held: offsets applied out of order and not finished yet: dead letters whose copy is
//    not yet acknowledged by Kafka, file writes still in flight on libuv's pool.
// The durable position, what is stored with the index and committed to Kafka, stops at
// the first held offset: a restart must not skip a record that neither reached the
// replica nor the dead-letter topic.
export class Positions {
  private readonly fetchNext = new Map<number, number>();
  private readonly applyNext = new Map<number, number>();
  private readonly highWatermarks = new Map<number, number>();
  private readonly held = new Map<number, number[]>();

  /** Starts a partition at `offset` (nothing before it is needed any more). */
  init(partition: number, offset: number): void {
    this.fetchNext.set(partition, offset);
    this.applyNext.set(partition, offset);
  }

  partitions(): number[] {
    return [...this.applyNext.keys()].sort((a, b) => a - b);
  }

  nextToFetch(partition: number): number | undefined {
    return this.fetchNext.get(partition);
  }

  fetched(partition: number, nextOffset: number): void {
    this.fetchNext.set(partition, Math.max(this.fetchNext.get(partition) ?? 0, nextOffset));
    if (!this.applyNext.has(partition)) this.applyNext.set(partition, 0);
  }

  /** Offsets are applied in order within a partition (one applied again, out of order, moves nothing back). */
  applied(partition: number, offset: number): void {
    this.applyNext.set(partition, Math.max(this.applyNext.get(partition) ?? 0, offset + 1));
  }

  highWatermark(partition: number, offset: number): void {
    this.highWatermarks.set(partition, Math.max(this.highWatermarks.get(partition) ?? 0, offset));
  }

  lag(partition: number): number | undefined {
    const high = this.highWatermarks.get(partition);
    const next = this.applyNext.get(partition);
    return high === undefined || next === undefined ? undefined : Math.max(0, high - next);
  }

  deadLetterSent(partition: number, offset: number, sent: boolean): void {
    if (sent) this.release(partition, offset);
    else this.hold(partition, offset);
  }

  /** The durable position stays at or before `offset` until release(). */
  hold(partition: number, offset: number): void {
    const list = this.held.get(partition);
    if (list === undefined) this.held.set(partition, [offset]);
    else list.push(offset);
  }

  release(partition: number, offset: number): void {
    const list = this.held.get(partition);
    const at = list?.indexOf(offset) ?? -1;
    if (at >= 0) list!.splice(at, 1);
  }

  /** Next offset per partition that a restart may resume from. */
  durable(): Map<number, number> {
    const result = new Map<number, number>();
    for (const [partition, next] of this.applyNext) {
      let first = next;
      for (const offset of this.held.get(partition) ?? []) first = Math.min(first, offset);
      result.set(partition, first);
    }
    return result;
  }

  /** Next offset to apply per partition (for rebuild progress). */
  next(): Map<number, number> {
    return new Map(this.applyNext);
  }
}

export function samePositions(a: ReadonlyMap<number, number>, b: ReadonlyMap<number, number>): boolean {
  if (a.size !== b.size) return false;
  for (const [partition, offset] of a) if (b.get(partition) !== offset) return false;
  return true;
}

export function positionsToJson(positions: ReadonlyMap<number, number>): Record<string, number> {
  return Object.fromEntries([...positions].map(([partition, offset]) => [String(partition), offset]));
}

export function positionsFromJson(json: Record<string, number> | undefined): Map<number, number> {
  return new Map(Object.entries(json ?? {}).map(([partition, offset]) => [Number(partition), offset]));
}
