// What a failure while a service starts means for the operator. A condition that cannot
// heal (rejected credentials, missing permissions, a misconfigured topic) is final: one
// line, exit 2, so systemd does not restart into the same wall forever. One that can (a
// server not up yet, a leader moving after topic creation) is waited out with visible
// backoff: one log line per step, the reason in /readyz, and optionally a deadline.
import fs from 'node:fs';
import path from 'node:path';
import { CliError } from './errors.ts';
import { describeFailure, failureMessage } from './failure-kind.ts';
import type { Logger } from './logger.ts';
import { backoffDelay, sleep } from './retry.ts';
import { DeadlineError } from './deadline.ts';

export type StartFailure = { kind: 'final' | 'transient'; message: string };

function refusedLine(server: 'kafka' | 's3' | undefined, reason: string, where: { kafka: string; s3: string }) {
  if (server === 's3') {
    return (
      `S3 at ${where.s3} refused the request (${reason}): check --s3-access-key and --s3-secret-key ` +
      `(MIRRORLOG_S3_ACCESS_KEY, MIRRORLOG_S3_SECRET_KEY) and the key's permissions on the bucket`
    );
  }
  return `Kafka at ${where.kafka} refused the request (${reason}): check the client's credentials and ACLs`;
}

/**
 * Final or transient, and the one line to say. `where` names the servers and the options
 * that set them, e.g. { kafka: '127.0.0.1:9092', s3: 'http://127.0.0.1:8333' }.
 */
export function classifyStartError(error: unknown, where: { kafka: string; s3: string }): StartFailure {
  if (error instanceof CliError) return { kind: 'final', message: error.message };
  // A step bounded by withinMs got no answer in time (a kafkajs call can hang after a topic's
  // creation on a cluster): tried again, like a server that does not answer.
  if (error instanceof DeadlineError) return { kind: 'transient', message: error.message };
  const failure = describeFailure(error);
  const final = (): StartFailure => ({
    kind: 'final',
    message: `${failure.server === 's3' ? `S3 at ${where.s3}: ` : ''}${failureMessage(error)}`,
  });
  switch (failure.kind) {
    case 'auth':
      return { kind: 'final', message: refusedLine(failure.server, failure.reason, where) };
    case 'unreachable':
      return { kind: 'transient', message: failureMessage(error) };
    case 'other':
      // At start a topic was just made or checked: kafkajs's own "retry this" (a topic whose
      // metadata has not reached every broker yet) is waited for here, not while running.
      return failure.kafkaRetriable === true ? { kind: 'transient', message: failureMessage(error) } : final();
    case 'missing-bucket':
      return final();
    default: {
      const unhandled: never = failure.kind;
      return unhandled;
    }
  }
}

export type WaitOptions = {
  /** What is waited for, in the log line: "Kafka at 127.0.0.1:9092". */
  what: string;
  where: { kafka: string; s3: string };
  logger: Pick<Logger, 'warn'>;
  /** The reason shown by /readyz while waiting (undefined: no longer waiting). */
  setReason: (reason: string | undefined) => void;
  /** Give up after this long (0: never). */
  giveUpAfterMs: number;
  now?: () => number;
  delay?: (ms: number) => Promise<void>;
  /** Backoff bounds; default 1 s doubling to 30 s (no jitter: one server, one client). */
  minDelayMs?: number;
  maxDelayMs?: number;
};

/**
 * Runs `step` until it succeeds. A transient failure is logged (one line per attempt) and
 * retried with backoff; a final one, or the deadline, ends the start with a CliError
 * (exit 2 for final, 1 for giving up).
 */
export async function waitForServer<T>(step: () => Promise<T>, options: WaitOptions): Promise<T> {
  const now = options.now ?? Date.now;
  const delay = options.delay ?? ((ms: number) => sleep(ms));
  const started = now();
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await step();
      options.setReason(undefined);
      return result;
    } catch (error) {
      const failure = classifyStartError(error, options.where);
      if (failure.kind === 'final') throw new CliError(failure.message, 2);
      const elapsed = now() - started;
      if (options.giveUpAfterMs > 0 && elapsed >= options.giveUpAfterMs) {
        throw new CliError(
          `gave up after ${Math.round(elapsed / 1000)} s waiting for ${options.what}: ` +
            `${failure.message} (--give-up-after)`,
          1,
        );
      }
      const waitMs = backoffDelay(attempt, {
        minDelayMs: options.minDelayMs ?? 1000,
        maxDelayMs: options.maxDelayMs ?? 30_000,
        jitter: false,
      });
      const reason = `waiting for ${options.what}: ${failure.message}`;
      options.setReason(reason);
      options.logger.warn(
        { attempt, retryInMs: waitMs },
        `${reason}; retry ${attempt} in ${(waitMs / 1000).toFixed(1)} s`,
      );
      await delay(waitMs);
    }
  }
}

/**
 * Creates the state directory and checks it can be written, or ends the start with one
 * line naming it and the variable to set (a read-only container root without its volume).
 */
export function ensureWritableStateDir(dir: string): void {
  const hint = `set --state-dir (MIRRORLOG_STATE_DIR) to a writable directory, e.g. a mounted volume`;
  try {
    fs.mkdirSync(dir, { recursive: true });
    const probe = path.join(dir, `.write-check-${process.pid}`);
    fs.writeFileSync(probe, '');
    fs.rmSync(probe);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new CliError(`the state directory ${dir} cannot be written (${code}): ${hint}`, 2);
  }
}
