// What a failure while a service starts means for the operator. A condition that cannot
// heal (rejected credentials, missing permissions, a misconfigured topic) is final: one
// line, exit 2, so systemd does not restart into the same wall forever. One that can (a
// server not up yet, a leader moving after topic creation) is waited out with visible
// backoff: one log line per step, the reason in /readyz, and optionally a deadline.
import fs from 'node:fs';
import path from 'node:path';
import { CliError } from './errors.ts';
import type { Logger } from './logger.ts';
import { backoffDelay, sleep } from './retry.ts';

export type StartFailure = { kind: 'final' | 'transient'; message: string };

/** S3 error codes that mean the credentials or the permissions are wrong. */
const S3_AUTH_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidToken',
  'ExpiredToken',
  'AllAccessDisabled',
  'AccountProblem',
  'InvalidSecurity',
  'AuthorizationHeaderMalformed',
]);
const S3_TRANSIENT_CODES = new Set([
  'InternalError',
  'ServiceUnavailable',
  'SlowDown',
  'RequestTimeout',
  'OperationAborted',
  'XMinioServerNotInitialized',
]);
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ENETUNREACH',
  'EHOSTUNREACH',
  'ENETDOWN',
  'ERR_STREAM_PREMATURE_CLOSE',
  'S3_IDLE_TIMEOUT',
]);
const KAFKA_TRANSIENT_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSLockTimeout',
  'KafkaJSGroupCoordinatorNotFound',
]);

type ErrorLike = {
  name?: unknown;
  code?: unknown;
  type?: unknown;
  message?: unknown;
  retriable?: unknown;
  cause?: unknown;
};

/** The error and the errors it wraps (kafkajs wraps the broker's answer in `cause`). */
function chain(error: unknown): ErrorLike[] {
  const found: ErrorLike[] = [];
  let current: unknown = error;
  while (current !== null && typeof current === 'object' && found.length < 8) {
    found.push(current);
    current = (current as ErrorLike).cause;
  }
  return found;
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/**
 * Final or transient, and the one line to say. `where` names the servers and the options
 * that set them, e.g. { kafka: '127.0.0.1:9092', s3: 'http://127.0.0.1:8333' }.
 */
export function classifyStartError(error: unknown, where: { kafka: string; s3: string }): StartFailure {
  if (error instanceof CliError) return { kind: 'final', message: error.message };
  for (const link of chain(error)) {
    const name = text(link.name);
    const code = text(link.code);
    const type = text(link.type);
    const message = text(link.message);
    if (name === 'S3Error' || S3_AUTH_CODES.has(code)) {
      if (S3_AUTH_CODES.has(code)) {
        return {
          kind: 'final',
          message:
            `S3 at ${where.s3} refused the request (${code}): check --s3-access-key and --s3-secret-key ` +
            `(MIRRORLOG_S3_ACCESS_KEY, MIRRORLOG_S3_SECRET_KEY) and the key's permissions on the bucket`,
        };
      }
      if (code === '' || S3_TRANSIENT_CODES.has(code))
        return { kind: 'transient', message: code || message || 'unreadable answer' };
      return { kind: 'final', message: `S3 at ${where.s3}: ${code}${message ? ` (${message})` : ''}` };
    }
    if (
      name === 'KafkaJSSASLAuthenticationError' ||
      type.startsWith('SASL_') ||
      type.endsWith('_AUTHORIZATION_FAILED')
    ) {
      return {
        kind: 'final',
        message:
          `Kafka at ${where.kafka} refused the request (${type || name}): ` + `check the client's credentials and ACLs`,
      };
    }
    if (name === 'TopicMismatchError') return { kind: 'final', message };
    if (
      KAFKA_TRANSIENT_NAMES.has(name) ||
      type === 'NOT_LEADER_OR_FOLLOWER' ||
      type === 'LEADER_NOT_AVAILABLE' ||
      type === 'UNKNOWN_TOPIC_OR_PARTITION'
    ) {
      return { kind: 'transient', message: message || type || name };
    }
    if (NETWORK_CODES.has(code)) return { kind: 'transient', message: `${message || code}` };
    if (name.startsWith('KafkaJS') && link.retriable === true && link.cause === undefined) {
      return { kind: 'transient', message: message || type || name };
    }
  }
  const first = chain(error)[0];
  return { kind: 'final', message: text(first?.message) || String(error) };
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
