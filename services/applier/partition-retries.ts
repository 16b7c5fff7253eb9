// Partitions whose next record failed to apply (a filesystem error: full, read-only,
// failing disk). Each is retried after its own backoff while the others go on. Pure:
// the time is passed in.
import { backoffDelay } from '../shared/retry.ts';

interface Failing {
  readonly message: string;
  readonly failures: number;
  readonly retryAt: number;
}

export class PartitionRetries {
  private readonly failing = new Map<number, Failing>();

  /** The first failing partition and why, if any. */
  first(): { partition: number; message: string } | undefined {
    for (const [partition, { message }] of this.failing) return { partition, message };
    return undefined;
  }

  /** Whether the partition failed and its retry is not due yet. */
  backingOff(partition: number, now: number): boolean {
    const failed = this.failing.get(partition);
    return failed !== undefined && now < failed.retryAt;
  }

  /** Records one more failure; returns whether its message is new (worth logging). */
  failed(partition: number, message: string, now: number): boolean {
    const previous = this.failing.get(partition);
    const failures = (previous?.failures ?? 0) + 1;
    this.failing.set(partition, {
      message,
      failures,
      retryAt: now + backoffDelay(failures, { minDelayMs: 200, maxDelayMs: 30_000, jitter: false }),
    });
    return previous?.message !== message;
  }

  /** The partition applied a record; returns whether it had been failing. */
  recovered(partition: number): boolean {
    return this.failing.delete(partition);
  }

  /** `ms`, or less if a retry is due sooner. */
  untilNextRetry(ms: number, now: number): number {
    for (const { retryAt } of this.failing.values()) ms = Math.min(ms, retryAt - now);
    return ms;
  }

  clear(): void {
    this.failing.clear();
  }
}
