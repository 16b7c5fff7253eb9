// Watcher events are hints: "look at this path again". The queue coalesces them per
// path over a quiet window (a path being written is examined once it settles), caps
// how long a busy path can be deferred, and hands out the due ones. Retries wait
// longer, in coarse time buckets, so they never delay fresh hints. Time is passed in.

type Pending = { first: number; due: number };

const BUCKET_MS = 50;

export class HintQueue {
  // Every entry here was added with the same quiet window, so insertion order is due
  // order: a re-hinted path is moved to the end.
  private readonly pending = new Map<string, Pending>();
  // Longer delays, by due time rounded up to a bucket.
  private readonly delayed = new Map<number, Map<string, number>>();
  private readonly delayedAt = new Map<string, number>();
  // Retries whose delay is over: handed out before anything else.
  private readonly overdue = new Map<string, number>();

  constructor(
    private readonly quietMs: number,
    /** A path hinted continuously is still examined this long after its first hint. */
    private readonly maxDelayMs: number,
  ) {}

  add(path: string, now: number, delayMs = this.quietMs): void {
    if (delayMs > this.quietMs) {
      this.removeDelayed(path);
      const first = this.pending.get(path)?.first ?? now;
      this.pending.delete(path);
      const bucket = Math.ceil((now + delayMs) / BUCKET_MS) * BUCKET_MS;
      let paths = this.delayed.get(bucket);
      if (paths === undefined) this.delayed.set(bucket, (paths = new Map<string, number>()));
      paths.set(path, first);
      this.delayedAt.set(path, bucket);
      return;
    }
    if (this.delayedAt.has(path) || this.overdue.has(path)) return; // a retry is already scheduled; it covers this hint
    const existing = this.pending.get(path);
    const first = existing?.first ?? now;
    const due = Math.min(now + delayMs, first + this.maxDelayMs);
    if (existing !== undefined) this.pending.delete(path);
    this.pending.set(path, { first, due: Math.max(due, existing?.due ?? 0) });
  }

  has(path: string): boolean {
    return this.pending.has(path) || this.delayedAt.has(path) || this.overdue.has(path);
  }

  /** Up to `limit` paths due at `now`, with the time each was first hinted. */
  takeDue(now: number, limit: number): { path: string; firstHintAt: number }[] {
    this.promoteDelayed(now);
    const taken: { path: string; firstHintAt: number }[] = [];
    for (const [path, first] of this.overdue) {
      if (taken.length >= limit) return taken;
      this.overdue.delete(path);
      taken.push({ path, firstHintAt: first });
    }
    const fromPending = taken.length;
    for (const [path, { first, due }] of this.pending) {
      if (taken.length >= limit || due > now) break;
      taken.push({ path, firstHintAt: first });
    }
    for (const { path } of taken.slice(fromPending)) this.pending.delete(path);
    return taken;
  }

  /** When the next path falls due, or undefined when empty. */
  nextDue(): number | undefined {
    if (this.overdue.size > 0) return 0;
    let next: number | undefined;
    for (const { due } of this.pending.values()) {
      next = due;
      break;
    }
    for (const bucket of this.delayed.keys()) if (next === undefined || bucket < next) next = bucket;
    return next;
  }

  get size(): number {
    return this.pending.size + this.delayedAt.size + this.overdue.size;
  }

  private promoteDelayed(now: number): void {
    for (const [bucket, paths] of this.delayed) {
      if (bucket > now) continue;
      this.delayed.delete(bucket);
      for (const [path, first] of paths) {
        this.delayedAt.delete(path);
        this.pending.delete(path);
        this.overdue.set(path, first);
      }
    }
  }

  private removeDelayed(path: string): void {
    const bucket = this.delayedAt.get(path);
    if (bucket === undefined) return;
    this.delayedAt.delete(path);
    const paths = this.delayed.get(bucket);
    paths?.delete(path);
    if (paths?.size === 0) this.delayed.delete(bucket);
  }
}
