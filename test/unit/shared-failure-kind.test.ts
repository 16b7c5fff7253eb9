// The one table that says what a Kafka or S3 error is: refused (final), unreachable
// (retried), a missing bucket, or other. The start-up wait, the S3 store's own retry and
// the store guard all read it, so a code is classified the same way everywhere.
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { S3Error } from 'minio';
import {
  classifyFailure,
  describeFailure,
  failureMessage,
  isTransientFailure,
} from '../../services/shared/failure-kind.ts';

const { createErrorFromCode } = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as {
  createErrorFromCode: (code: number) => Error & { type: string };
};
const kafkajsErrors = createRequire(import.meta.url)('kafkajs/src/errors.js') as Record<
  string,
  new (message: string | Error, properties?: object) => Error
>;
const s3Error = (code: string) => Object.assign(new Error(`S3 says ${code}`), { code });
const minioError = (code: string | undefined) => Object.assign(new S3Error('x'), { code });
const kafkaError = (type: string) =>
  Object.assign(new Error(`broker says ${type}`), { name: 'KafkaJSProtocolError', type });
const connectionRefused = () =>
  Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1'), {
    name: 'KafkaJSNonRetriableError',
    originalError: Object.assign(new Error('connect ECONNREFUSED'), {
      name: 'KafkaJSConnectionError',
      code: 'ECONNREFUSED',
    }),
  });

describe('classifyFailure', () => {
  it('refused credentials and permissions are auth, from S3 and from Kafka, wrapped or not', () => {
    for (const code of ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied'])
      assert.equal(classifyFailure(s3Error(code)), 'auth', code);
    for (const type of ['TOPIC_AUTHORIZATION_FAILED', 'GROUP_AUTHORIZATION_FAILED', 'SASL_AUTHENTICATION_FAILED'])
      assert.equal(classifyFailure(kafkaError(type)), 'auth', type);
    assert.equal(
      classifyFailure({ name: 'KafkaJSNonRetriableError', originalError: kafkaError('CLUSTER_AUTHORIZATION_FAILED') }),
      'auth',
    );
    assert.equal(classifyFailure({ name: 'KafkaJSSASLAuthenticationError', message: 'SASL PLAIN failed' }), 'auth');
  });

  it('a refusal inside a transient wrapper is still a refusal', () => {
    const wrapped = Object.assign(new Error('gave up'), {
      name: 'KafkaJSNumberOfRetriesExceeded',
      cause: kafkaError('TOPIC_AUTHORIZATION_FAILED'),
    });
    assert.deepEqual(describeFailure(wrapped), {
      kind: 'auth',
      server: 'kafka',
      reason: 'TOPIC_AUTHORIZATION_FAILED',
    });
  });

  it('network failures and leader elections are unreachable (retried); a missing bucket is its own kind', () => {
    assert.equal(classifyFailure(connectionRefused()), 'unreachable');
    assert.equal(
      classifyFailure(Object.assign(new Error('getaddrinfo ENOTFOUND nowhere'), { code: 'ENOTFOUND' })),
      'unreachable',
    );
    // The errors kafkajs itself makes from the broker's codes (their names are kafkajs's, not the protocol's).
    for (const code of [5, 6, 7, 9, 13, 14, 15, 16, 19, 20, 41, 74])
      assert.equal(classifyFailure(createErrorFromCode(code)), 'unreachable', createErrorFromCode(code).type);
    assert.equal(classifyFailure(createErrorFromCode(3)), 'other', 'a missing topic is not waited for');
    // kafkajs's own outage errors, and its wrappers (which chain by `cause`).
    for (const name of ['KafkaJSGroupCoordinatorNotFound', 'KafkaJSNoBrokerAvailableError', 'KafkaJSLockTimeout'])
      assert.equal(classifyFailure(new kafkajsErrors[name]!('gone')), 'unreachable', name);
    const refused = createErrorFromCode(31);
    assert.equal(
      classifyFailure(new kafkajsErrors.KafkaJSNonRetriableError!(refused, { cause: refused })),
      'auth',
      'a wrapped CLUSTER_AUTHORIZATION_FAILED',
    );
    const moved = createErrorFromCode(6);
    assert.equal(
      classifyFailure(new kafkajsErrors.KafkaJSNumberOfRetriesExceeded!(moved, { retryCount: 5, retryTime: 1 })),
      'unreachable',
      'retries used up on a leader move',
    );
    assert.deepEqual(describeFailure(s3Error('NoSuchBucket')), {
      kind: 'missing-bucket',
      server: 's3',
      reason: 'NoSuchBucket',
    });
    assert.equal(classifyFailure(new TypeError('a bug')), 'other');
  });

  it('the message is one line with the code', () => {
    assert.equal(failureMessage(s3Error('SignatureDoesNotMatch')), 'S3 says SignatureDoesNotMatch');
    assert.equal(failureMessage(Object.assign(new Error('bad\nthing'), { code: 'EX' })), 'EX: bad thing');
  });
});

describe('isTransientFailure', () => {
  it('retries network failures and server-side S3 codes only', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'S3_IDLE_TIMEOUT']) {
      assert.equal(isTransientFailure(Object.assign(new Error('x'), { code })), true, code);
    }
    for (const code of ['InternalError', 'ServiceUnavailable', 'SlowDown', '', undefined]) {
      assert.equal(isTransientFailure(minioError(code)), true, String(code));
    }
    for (const code of ['NoSuchKey', 'NotFound', 'AccessDenied', 'NoSuchBucket', 'SignatureDoesNotMatch']) {
      assert.equal(isTransientFailure(minioError(code)), false, code);
    }
    assert.equal(isTransientFailure(Object.assign(new Error('x'), { code: 'ENOENT' })), false);
    assert.equal(isTransientFailure(new TypeError('bad hash')), false);
  });

  it('a server-side S3 code counts only on an S3 answer, not on any error that carries it', () => {
    assert.equal(isTransientFailure(s3Error('ServiceUnavailable')), false);
    assert.deepEqual(describeFailure(minioError('SlowDown')), {
      kind: 'unreachable',
      server: 's3',
      reason: 'SlowDown',
    });
  });
});
