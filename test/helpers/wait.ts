// Waiting on a condition with a bound, never on time alone (server-free: unit tests use it too).
import { setTimeout as delay } from 'node:timers/promises';

/**
 * Polls `check` until it returns a value other than undefined, or fails after
 * `timeoutMs` with `what` in the message. For waiting on conditions, never on time.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | Promise<T | undefined>,
  timeoutMs = 30_000,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(intervalMs);
  }
}
