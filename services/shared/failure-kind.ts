// What kind of failure a Kafka (kafkajs) or S3 (minio) error is: the one table behind
// "final: one line, exit 2" versus "transient: retry with visible backoff", used by the
// start-up wait (start-errors.ts), the S3 store's own retry (s3-content-store.ts) and the
// store guard while running (guarded-content-store.ts). Pure: looks at the name, type,
// code and message of the error and of the errors it wraps only.

export type FailureKind =
  /** Credentials or permissions refused: retrying cannot help until an operator acts. */
  | 'auth'
  /** The bucket does not exist. */
  | 'missing-bucket'
  /** The server could not be reached, went away or is not serving yet: worth retrying. */
  | 'unreachable'
  | 'other';

export type Failure = {
  readonly kind: FailureKind;
  /** Which server said so, when the error tells. */
  readonly server: 'kafka' | 's3' | undefined;
  /** The code, type or name that decided ('SignatureDoesNotMatch', 'TOPIC_AUTHORIZATION_FAILED'), or ''. */
  readonly reason: string;
  /**
   * kafkajs would retry it (it marks the broker's answer retriable, or its own retries ran
   * out), though the table does not call it unreachable: UNKNOWN_TOPIC_OR_PARTITION is one.
   * Only the start-up wait trusts this (start-errors.ts).
   */
  readonly kafkaRetriable?: true;
};

const KAFKA_AUTH_TYPES = new Set([
  'SASL_AUTHENTICATION_FAILED',
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'DELEGATION_TOKEN_AUTHORIZATION_FAILED',
  'ILLEGAL_SASL_STATE',
  'UNSUPPORTED_SASL_MECHANISM',
]);
const KAFKA_AUTH_NAMES = new Set(['KafkaJSSASLAuthenticationError']);
/**
 * Broker answers that pass by themselves (a leader being elected, a coordinator loading), by
 * the names kafkajs gives them (GROUP_* where the protocol now says COORDINATOR_*).
 */
const KAFKA_TRANSIENT_TYPES = new Set([
  'NOT_LEADER_FOR_PARTITION',
  'LEADER_NOT_AVAILABLE',
  'REPLICA_NOT_AVAILABLE',
  'PREFERRED_LEADER_NOT_AVAILABLE',
  'FENCED_LEADER_EPOCH',
  'UNKNOWN_LEADER_EPOCH',
  'GROUP_LOAD_IN_PROGRESS',
  'GROUP_COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR_FOR_GROUP',
  'REQUEST_TIMED_OUT',
  'NETWORK_EXCEPTION',
  'NOT_CONTROLLER',
  'NOT_ENOUGH_REPLICAS',
  'NOT_ENOUGH_REPLICAS_AFTER_APPEND',
  'KAFKA_STORAGE_ERROR',
]);
/** kafkajs's own errors for a broker that cannot be reached or answered too late. */
const KAFKA_TRANSIENT_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSBrokerNotFound',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSLockTimeout',
  'KafkaJSGroupCoordinatorNotFound',
]);
const S3_AUTH_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'AccessDenied',
  'InvalidToken',
  'ExpiredToken',
  'AuthorizationHeaderMalformed',
  'AllAccessDisabled',
  'InvalidSecurity',
  'AccountProblem',
]);
/** S3 answers that mean the server failed, not the request. */
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
/** kafkajs, when it gave up connecting to every seed broker. */
const KAFKA_UNREACHABLE_MESSAGE = /Connection (error|timeout)|Failed to connect|connect ECONNREFUSED/i;

type ErrorLike = {
  name?: unknown;
  type?: unknown;
  code?: unknown;
  message?: unknown;
  originalError?: unknown;
  cause?: unknown;
  retriable?: unknown;
};

type Link = { name: string; type: string; code: string; message: string; wraps: boolean; retriable: boolean };

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** The error and the errors it wraps (kafkajs: originalError or cause; Node: cause), outermost first. */
function chain(error: unknown): Link[] {
  const found: Link[] = [];
  let current: unknown = error;
  while (current !== null && typeof current === 'object' && found.length < 8) {
    const like = current as ErrorLike;
    const next = like.originalError ?? like.cause;
    found.push({
      name: text(like.name),
      type: text(like.type),
      code: text(like.code),
      message: text(like.message),
      wraps: next !== undefined,
      retriable: like.retriable === true,
    });
    current = next;
  }
  return found;
}

function refusal(link: Link): Failure | undefined {
  if (KAFKA_AUTH_TYPES.has(link.type)) return { kind: 'auth', server: 'kafka', reason: link.type };
  if (KAFKA_AUTH_NAMES.has(link.name)) return { kind: 'auth', server: 'kafka', reason: link.name };
  if (S3_AUTH_CODES.has(link.code)) return { kind: 'auth', server: 's3', reason: link.code };
  if (link.code === 'NoSuchBucket') return { kind: 'missing-bucket', server: 's3', reason: link.code };
  return undefined;
}

function unreachable(link: Link): Failure | undefined {
  const kafka = (reason: string): Failure => ({ kind: 'unreachable', server: 'kafka', reason });
  if (KAFKA_TRANSIENT_TYPES.has(link.type)) return kafka(link.type);
  if (KAFKA_TRANSIENT_NAMES.has(link.name)) return kafka(link.name);
  // An S3Error without a code carries an unparseable body: a proxy's 502/504 page.
  if (link.name === 'S3Error' && (link.code === '' || S3_TRANSIENT_CODES.has(link.code)))
    return { kind: 'unreachable', server: 's3', reason: link.code };
  if (NETWORK_CODES.has(link.code)) return { kind: 'unreachable', server: undefined, reason: link.code };
  if (KAFKA_UNREACHABLE_MESSAGE.test(link.message)) return kafka(link.name);
  return undefined;
}

/** What the error is. A refusal anywhere in the chain wins over a transient wrapper around it. */
export function describeFailure(error: unknown): Failure {
  const links = chain(error);
  for (const link of links) {
    const found = refusal(link);
    if (found !== undefined) return found;
  }
  for (const link of links) {
    const found = unreachable(link);
    if (found !== undefined) return found;
  }
  const s3 = links.find((link) => link.name === 'S3Error');
  const other: Failure = { kind: 'other', server: s3 === undefined ? undefined : 's3', reason: s3?.code ?? '' };
  const retriable = links.find(
    (link) =>
      link.name === 'KafkaJSNumberOfRetriesExceeded' ||
      (link.name.startsWith('KafkaJS') && link.retriable && !link.wraps),
  );
  return retriable === undefined
    ? other
    : { ...other, server: 'kafka', reason: retriable.type || retriable.name, kafkaRetriable: true };
}

export function classifyFailure(error: unknown): FailureKind {
  return describeFailure(error).kind;
}

/** Worth retrying: the network or the server failed, not the request. */
export function isTransientFailure(error: unknown): boolean {
  return classifyFailure(error) === 'unreachable';
}

/** The innermost message worth showing an operator, on one line. */
export function failureMessage(error: unknown): string {
  const links = chain(error);
  const withCode = links.find((link) => link.code !== '');
  const innermost = links.at(-1);
  const message = innermost !== undefined && innermost.message !== '' ? innermost.message : String(error);
  const code = withCode !== undefined && !message.includes(withCode.code) ? `${withCode.code}: ` : '';
  return `${code}${message}`.replace(/\s+/g, ' ').slice(0, 300);
}
