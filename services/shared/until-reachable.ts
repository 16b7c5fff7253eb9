// Start-up against a server that may not be up yet: try, and on a transient failure say
// so in one line per backoff step (and in /readyz, through `onWaiting`), until it answers
// or `giveUpAfterMs` passes. What cannot heal (credentials refused, a missing bucket) is
// a final one-line error with exit code 2 at once.
import { CliError } from './errors.ts';
import { classifyFailure, failureMessage } from './failure-kind.ts';
import type { Logger } from './logger.ts';
import { backoffDelay, sleep } from './retry.ts';

export type UntilReachableOptions = {
  readonly logger: Pick<Logger, 'warn'>;
  /** 0: never give up. */
  readonly giveUpAfterMs: number;
  /** The reason the service is not ready yet (undefined once it answered). */
  readonly onWaiting?: (reason: string | undefined) => void;
  /** What to set when credentials are refused, e.g. "--s3-access-key/--s3-secret-key (MIRRORLOG_S3_...)". */
  readonly credentialsHint: string;
  readonly signal?: AbortSignal;
  readonly now?: () => number;
  readonly delay?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
  readonly minDelayMs?: number;
  readonly maxDelayMs?: number;
};

export async function untilReachable<T>(what: string, attempt: () => Promise<T>, options: UntilReachableOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const delay = options.delay ?? sleep;
  const began = now();
  for (let retry = 1; ; retry++) {
    try {
      const result = await attempt();
      options.onWaiting?.(undefined);
      return result;
    } catch (error) {
      if (error instanceof CliError) throw error;
      const kind = classifyFailure(error);
      const message = failureMessage(error);
      if (kind === 'auth') throw new CliError(`${what} refused the credentials: ${message}; check ${options.credentialsHint}`);
      if (kind === 'missing-bucket') throw new CliError(`${what}: the bucket does not exist (${message}); check --bucket (MIRRORLOG_BUCKET), or start the producer first`);
      if (kind !== 'unreachable') throw error;
      const waited = now() - began;
      if (options.giveUpAfterMs > 0 && waited >= options.giveUpAfterMs) {
        throw new CliError(`gave up after ${Math.round(waited / 1000)} s (--give-up-after): cannot reach ${what}: ${message}`, 1);
      }
      const delayMs = backoffDelay(retry, { minDelayMs: options.minDelayMs ?? 1000, maxDelayMs: options.maxDelayMs ?? 30_000, jitter: false });
      const reason = `cannot reach ${what}: ${message}`;
      options.onWaiting?.(reason);
      options.logger.warn({ retry, delayMs }, `${reason}; retrying in ${(delayMs / 1000).toFixed(1)} s`);
      await delay(delayMs, options.signal);
    }
  }
}
