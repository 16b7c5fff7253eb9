// Retrying with capped exponential backoff and full jitter: the delay before retry n is
// uniform in [0, min(maxDelayMs, minDelayMs * factor^(n-1))]. Full jitter spreads the
// retries of many clients hitting the same failed server (AWS architecture blog,
// "Exponential Backoff And Jitter"). The delay and the randomness are injectable so
// tests never wait.

export interface BackoffOptions {
  /** Upper bound of the first delay. Default 100 ms. */
  readonly minDelayMs?: number;
  /** Upper bound of every delay. Default 30 s. */
  readonly maxDelayMs?: number;
  /** Growth of the bound per retry. Default 2. */
  readonly factor?: number;
  /** Full jitter (default) or the exact bound (deterministic, e.g. for logs in tests). */
  readonly jitter?: boolean;
}

export interface RetryOptions extends BackoffOptions {
  /** Retries after the first attempt. Omitted: keep retrying until `signal` aborts. */
  readonly retries?: number;
  /** Errors for which this returns false are thrown at once. Default: retry everything. */
  readonly isRetryable?: (error: unknown) => boolean;
  /** Called before each wait, e.g. to log or count. */
  readonly onRetry?: (info: { error: unknown; retry: number; delayMs: number }) => void;
  /** Stops retrying (and any wait) and rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /** Injected wait; `sleep` by default. */
  readonly delay?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  /** Injected randomness in [0, 1); Math.random by default. */
  readonly random?: () => number;
}

/** The wait before retry number `retry` (1-based). */
export function backoffDelay(retry: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const { minDelayMs = 100, maxDelayMs = 30_000, factor = 2, jitter = true } = options;
  const bound = Math.min(maxDelayMs, minDelayMs * factor ** Math.max(0, retry - 1));
  return Math.round(jitter ? random() * bound : bound);
}

// Typed as an Error: the reason is whatever abort() was given (an AbortError by default).
function abortReason(signal: AbortSignal): Error {
  return (signal.reason as Error | undefined) ?? new DOMException('This operation was aborted', 'AbortError');
}

/** Resolves after `ms`, or rejects with the signal's reason as soon as it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(abortReason(signal));
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortReason(signal!));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Calls `fn(attempt)` (attempt 0 first) until it resolves, an error is not retryable,
 * the retries are used up (the last error is thrown unchanged, so callers can still
 * match its type) or `signal` aborts (its reason is thrown).
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const {
    retries = Number.POSITIVE_INFINITY,
    isRetryable = () => true,
    onRetry,
    signal,
    delay = sleep,
    random = Math.random,
  } = options;
  for (let attempt = 0; ; attempt += 1) {
    if (signal?.aborted) throw abortReason(signal);
    try {
      return await fn(attempt);
    } catch (error) {
      if (signal?.aborted) throw abortReason(signal);
      if (attempt >= retries || !isRetryable(error)) throw error;
      const delayMs = backoffDelay(attempt + 1, options, random);
      onRetry?.({ error, retry: attempt + 1, delayMs });
      await delay(delayMs, signal);
    }
  }
}
