// A content store that stops asking while the server refuses our credentials. Without
// it every pending download retried on its own, ~30 requests a second for as long as
// the secret was wrong, while the service still looked ready. Here the first refusal
// holds every call; one probe per backoff step (logged) checks whether the credentials
// work again (a secret rotated back, a policy fixed), and then the held calls go on.
// `refusal` is the reason for /readyz meanwhile. A store that cannot be reached is left to
// the callers' own backoff, but said too: `refusal` names it until a request succeeds.
import type { ContentStore, StoredContent } from './content-store.ts';
import { classifyFailure, failureMessage } from './failure-kind.ts';
import type { Logger } from './logger.ts';
import { backoffDelay, sleep } from './retry.ts';

export type GuardedContentStoreOptions = {
  readonly logger: Pick<Logger, 'warn' | 'error' | 'info'>;
  /** Aborting rejects the held calls (the service is stopping). */
  readonly signal: AbortSignal;
  readonly now?: () => number;
  readonly delay?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
};

/** How long after its last failure an unreachable store is still reported. */
const UNREACHABLE_SHOWN_MS = 60_000;

/** A request that cannot succeed until an operator acts. */
function isRefusal(error: unknown): boolean {
  const kind = classifyFailure(error);
  return kind === 'auth' || kind === 'missing-bucket';
}

export class GuardedContentStore implements ContentStore {
  #failing: { reason: string; since: number } | undefined;
  #unreachable: { reason: string; since: number; last: number } | undefined;
  #recovery: Promise<void> | undefined;
  #probes = 0;

  constructor(
    private readonly inner: ContentStore,
    private readonly options: GuardedContentStoreOptions,
  ) {}

  /** Why the store cannot be used now (undefined: it can). */
  get refusal(): string | undefined {
    // An unreachable store is said while failures keep coming (a download given up on must not pin it).
    const now = (this.options.now ?? Date.now)();
    const unreachable =
      this.#unreachable !== undefined && now - this.#unreachable.last < UNREACHABLE_SHOWN_MS
        ? this.#unreachable
        : undefined;
    const problem = this.#failing ?? unreachable;
    return problem === undefined ? undefined : `${problem.reason} (since ${new Date(problem.since).toISOString()})`;
  }

  /** Probes made while refused (for tests and metrics). */
  get probes(): number {
    return this.#probes;
  }

  stat(hash: string): Promise<StoredContent | undefined> {
    return this.#call(() => this.inner.stat(hash));
  }

  putFile(hash: string, filePath: string, size: number): Promise<void> {
    return this.#call(() => this.inner.putFile(hash, filePath, size));
  }

  putBuffer(hash: string, data: Buffer): Promise<void> {
    return this.#call(() => this.inner.putBuffer(hash, data));
  }

  getBuffer(hash: string, maxBytes: number): Promise<Buffer> {
    return this.#call(() => this.inner.getBuffer(hash, maxBytes));
  }

  getToFile(hash: string, filePath: string): Promise<{ size: number }> {
    return this.#call(() => this.inner.getToFile(hash, filePath));
  }

  list(hashPrefix?: string): AsyncIterable<StoredContent> {
    return this.inner.list(hashPrefix);
  }

  remove(hash: string): Promise<void> {
    return this.#call(() => this.inner.remove(hash));
  }

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    for (;;) {
      if (this.#recovery !== undefined) await this.#recovery;
      try {
        const result = await fn();
        this.#unreachable = undefined;
        return result;
      } catch (error) {
        if (!isRefusal(error)) {
          if (classifyFailure(error) === 'unreachable') {
            const now = (this.options.now ?? Date.now)();
            this.#unreachable = {
              reason: `the content store is unreachable: ${failureMessage(error)}`,
              since: this.#unreachable?.since ?? now,
              last: now,
            };
          }
          throw error;
        }
        this.#recovery ??= this.#recover(error);
      }
    }
  }

  /** Resolves once a probe is accepted; rejects when the signal aborts. */
  async #recover(first: unknown): Promise<void> {
    const { logger, signal } = this.options;
    const now = this.options.now ?? Date.now;
    const delay = this.options.delay ?? sleep;
    let reason = `the content store refuses our requests: ${failureMessage(first)}`;
    this.#failing = { reason, since: now() };
    logger.error({ since: this.#failing.since }, `${reason}; holding every download until it accepts them again`);
    try {
      for (let retry = 1; ; retry++) {
        const delayMs = backoffDelay(retry, {
          minDelayMs: this.options.minDelayMs ?? 1000,
          maxDelayMs: this.options.maxDelayMs ?? 60_000,
          jitter: false,
        });
        logger.warn({ retry, delayMs }, `${reason}; checking again in ${(delayMs / 1000).toFixed(1)} s`);
        await delay(delayMs, signal);
        this.#probes++;
        try {
          for await (const _ of this.inner.list('0'.repeat(64))) break;
          break;
        } catch (error) {
          if (signal.aborted) throw error;
          // Still refused, or now unreachable: either way, wait again.
          reason = isRefusal(error)
            ? `the content store refuses our requests: ${failureMessage(error)}`
            : `the content store is unreachable: ${failureMessage(error)}`;
          this.#failing = { reason, since: this.#failing.since };
        }
      }
      logger.info('the content store accepts our requests again');
    } finally {
      this.#failing = undefined;
      this.#recovery = undefined;
    }
  }
}
