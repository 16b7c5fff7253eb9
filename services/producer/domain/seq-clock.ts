// The hybrid clock behind every event's seq: wall-clock microseconds, but never
// less than one past the last seq issued, so seqs stay strictly increasing across
// clock steps backwards and restarts (the last seq is persisted in the index).

export function nextSeq(lastSeq: number, nowMicros: number): number {
  return Math.max(Math.floor(nowMicros), lastSeq + 1);
}

export class SeqClock {
  constructor(
    private last: number,
    private readonly nowMicros: () => number,
  ) {}

  next(): number {
    this.last = nextSeq(this.last, this.nowMicros());
    return this.last;
  }

  get lastIssued(): number {
    return this.last;
  }
}
