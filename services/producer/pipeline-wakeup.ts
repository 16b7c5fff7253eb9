// Wakes the pipeline's loops (pipeline.ts): on new work, and by one timer that is always
// set for the earliest due hint.
import type { Clock } from '../shared/clock.ts';

export class PipelineWakeup {
  private waiters: (() => void)[] = [];
  private cancelTimer: (() => void) | undefined;
  private timerDue = Number.POSITIVE_INFINITY;

  constructor(
    private readonly clock: Clock,
    /** When the earliest queued hint falls due, if any. */
    private readonly nextDue: () => number | undefined,
  ) {}

  wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }

  /** Waits for a wake-up, or until the next hint falls due. */
  sleep(): Promise<void> {
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.armTimer();
    });
  }

  /** One timer, always set for the earliest due hint. */
  armTimer(): void {
    const due = this.nextDue();
    if (due === undefined || due >= this.timerDue) return;
    this.cancelTimer?.();
    this.timerDue = due;
    this.cancelTimer = this.clock.setTimeout(
      () => {
        this.cancelTimer = undefined;
        this.timerDue = Number.POSITIVE_INFINITY;
        this.wake();
      },
      Math.max(0, due - this.clock.now()),
    );
  }

  /** Cancels the timer (stopping). */
  disarm(): void {
    this.cancelTimer?.();
    this.cancelTimer = undefined;
  }
}
