// What kind of failure a Kafka (kafkajs) or S3 (minio) error is, for deciding between
// "final: one line, exit 2" and "transient: retry with visible backoff". Pure: looks at
// the error's type, code and name only.

export type FailureKind =
  /** Credentials or permissions refused: retrying cannot help until an operator acts. */
  | 'auth'
  /** The bucket does not exist. */
  | 'missing-bucket'
  /** The server could not be reached, went away or is not ready yet: worth retrying. */
  | 'unreachable'
  | 'other';

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
const KAFKA_AUTH_NAMES = new Set(['KafkaJSSASLAuthenticationError']);
const KAFKA_UNREACHABLE_NAMES = new Set([
  'KafkaJSConnectionError',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSLockTimeout',
  'KafkaJSBrokerNotFound',
  'KafkaJSRequestTimeoutError',
  'KafkaJSConnectionClosedError',
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
  'S3_IDLE_TIMEOUT',
]);

type ErrorLike = {
  name?: unknown;
  type?: unknown;
  code?: unknown;
  message?: unknown;
  originalError?: unknown;
  cause?: unknown;
  retriable?: unknown;
};

/** The error and the errors it wraps (kafkajs: originalError; Node: cause), outermost first. */
function chain(error: unknown): ErrorLike[] {
  const found: ErrorLike[] = [];
  let current = error as ErrorLike | null | undefined;
  while (current !== null && current !== undefined && typeof current === 'object' && found.length < 6) {
    found.push(current);
    current = (current.originalError ?? current.cause) as ErrorLike | undefined;
  }
  return found;
}

export function classifyFailure(error: unknown): FailureKind {
  const links = chain(error);
  for (const link of links) {
    if (typeof link.type === 'string' && KAFKA_AUTH_TYPES.has(link.type)) return 'auth';
    if (typeof link.name === 'string' && KAFKA_AUTH_NAMES.has(link.name)) return 'auth';
    if (typeof link.code === 'string' && S3_AUTH_CODES.has(link.code)) return 'auth';
    if (link.code === 'NoSuchBucket') return 'missing-bucket';
  }
  for (const link of links) {
    if (typeof link.type === 'string' && KAFKA_TRANSIENT_TYPES.has(link.type)) return 'unreachable';
    if (typeof link.name === 'string' && KAFKA_UNREACHABLE_NAMES.has(link.name)) return 'unreachable';
    if (typeof link.code === 'string' && NETWORK_CODES.has(link.code)) return 'unreachable';
    // kafkajs, when it gave up connecting to every seed broker.
    if (
      typeof link.message === 'string' &&
      /Connection (error|timeout)|Failed to connect|connect ECONNREFUSED/i.test(link.message)
    )
      return 'unreachable';
  }
  return 'other';
}

/** The innermost message worth showing an operator, on one line. */
export function failureMessage(error: unknown): string {
  const links = chain(error);
  const withCode = links.find((link) => typeof link.code === 'string' && link.code !== '');
  const innermost = links.at(-1);
  const message =
    typeof innermost?.message === 'string' && innermost.message !== '' ? innermost.message : String(error);
  const code = typeof withCode?.code === 'string' && !message.includes(withCode.code) ? `${withCode.code}: ` : '';
  return `${code}${message}`.replace(/\s+/g, ' ').slice(0, 300);
}
