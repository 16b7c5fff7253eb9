// The two promises the apply lane waits on: its own wake-up (new records, settled
// content, stop) and the fetchers' wait for room in its queues (backpressure).
import type { Clock } from '../shared/clock.ts';

/** Wakes the lane's loop; a wake() that comes while the loop is busy is not lost. */
export class LaneWakeup {
  private wakeup: (() => void) | undefined;
  /** A wake() came while the lane was not waiting: the next wait returns at once. */
  private woken = false;

  constructor(private readonly clock: Clock) {}

  /** Forgets earlier wake-ups: called at the start of each turn of the loop. */
  reset(): void {
    this.woken = false;
  }

  wake(): void {
    const wakeup = this.wakeup;
    this.wakeup = undefined;
    if (wakeup === undefined) this.woken = true;
    else wakeup();
  }

  /** Waits for wake() or `ms`. */
  wait(ms: number): Promise<void> {
    if (this.woken) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const cancel = this.clock.setTimeout(() => this.wake(), ms);
      this.wakeup = () => {
        cancel();
        resolve();
      };
    });
  }
}

/** Those waiting for the queues to have room again. */
export class RoomWaiters {
  private waiters: (() => void)[] = [];

  /** Resolves at the next release(). */
  next(): Promise<void> {
    return new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
