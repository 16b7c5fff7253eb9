// Time as a dependency: the services read the wall clock and set timers only through a
// Clock, so tests (the producer's model test above all) can run them on virtual time.

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` once after `ms`; the returned function cancels it. */
  setTimeout(fn: () => void, ms: number): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    const timer = setTimeout(fn, ms);
    return () => clearTimeout(timer);
  },
};

/**
 * The system clock read from a monotonic source (milliseconds since the epoch at process
 * start, then steady): what measures intervals and deadlines, which a stepped wall clock
 * would otherwise stretch or skip.
 */
export const monotonicClock: Clock = {
  now: () => performance.timeOrigin + performance.now(),
  setTimeout: (fn, ms) => systemClock.setTimeout(fn, ms),
};

export function sleep(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms));
}

/**
 * Virtual time for tests: timers fire only when the test advances the clock. Deterministic,
 * and a quiet window of 5 ms costs no real time.
 */
export class ManualClock implements Clock {
  private current: number;
  private timers: { due: number; order: number; fn: () => void }[] = [];
  private order = 0;

  constructor(start = 1_700_000_000_000) {
    this.current = start;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number): () => void {
    // Whole milliseconds, as Date.now() gives them.
    const timer = { due: this.current + Math.max(0, Math.ceil(ms)), order: this.order++, fn };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }

  get pendingTimers(): number {
    return this.timers.length;
  }

  /** Fires the timers due now; true if any fired. */
  fireDue(): boolean {
    const due = this.timers.filter((t) => t.due <= this.current).sort((a, b) => a.due - b.due || a.order - b.order);
    if (due.length === 0) return false;
    this.timers = this.timers.filter((t) => t.due > this.current);
    for (const timer of due) timer.fn();
    return true;
  }

  /** Moves time to the earliest timer and fires what is due then; false when no timer is set. */
  advanceToNext(): boolean {
    if (this.timers.length === 0) return false;
    this.current = Math.max(this.current, Math.min(...this.timers.map((t) => t.due)));
    return this.fireDue();
  }

  advance(ms: number): void {
    this.current += Math.ceil(ms);
    this.fireDue();
  }
}
