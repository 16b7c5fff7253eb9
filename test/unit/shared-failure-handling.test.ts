// Refused versus other failures while running: how Kafka and S3 errors are classified,
// and the store that holds calls while credentials are refused instead of letting every
// download retry on its own. (The start-up wait: shared-start-errors.test.ts.)
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { classifyFailure, failureMessage } from '../../services/shared/failure-kind.ts';
import { GuardedContentStore } from '../../services/shared/guarded-content-store.ts';
import { MemoryContentStore } from '../../services/shared/memory-content-store.ts';

const { createErrorFromCode } = createRequire(import.meta.url)('kafkajs/src/protocol/error.js') as {
  createErrorFromCode: (code: number) => Error & { type: string };
};
const kafkajsErrors = createRequire(import.meta.url)('kafkajs/src/errors.js') as Record<
  string,
  new (message: string | Error, properties?: object) => Error
>;
const s3Error = (code: string) => Object.assign(new Error(`S3 says ${code}`), { code });
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

function collectingLogger() {
  const lines: string[] = [];
  const log = (_fields: unknown, message?: string) => lines.push(message ?? String(_fields));
  return { lines, logger: { warn: log, error: log, info: log } };
}

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
    assert.equal(classifyFailure(s3Error('NoSuchBucket')), 'missing-bucket');
    assert.equal(classifyFailure(new TypeError('a bug')), 'other');
  });

  it('the message is one line with the code', () => {
    assert.equal(failureMessage(s3Error('SignatureDoesNotMatch')), 'S3 says SignatureDoesNotMatch');
    assert.equal(failureMessage(Object.assign(new Error('bad\nthing'), { code: 'EX' })), 'EX: bad thing');
  });
});

describe('GuardedContentStore', () => {
  it('while credentials are refused, calls wait on one probe per backoff step, then go on', async () => {
    const inner = new MemoryContentStore();
    const hash = '2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881'; // sha256('x')
    await inner.putBuffer(hash, Buffer.from('x'));
    let refuse = true;
    let innerCalls = 0;
    const flaky = Object.assign(Object.create(inner) as MemoryContentStore, {
      getBuffer: async (hash: string, max: number) => {
        innerCalls++;
        if (refuse) throw s3Error('SignatureDoesNotMatch');
        return inner.getBuffer(hash, max);
      },
      list: (prefix?: string) => {
        innerCalls++;
        if (refuse) throw s3Error('SignatureDoesNotMatch');
        return inner.list(prefix);
      },
    });
    const { lines, logger } = collectingLogger();
    const waits: number[] = [];
    let release: () => void = () => undefined;
    const delay = (ms: number) => {
      waits.push(ms);
      if (waits.length === 3) refuse = false; // fixed while the third wait runs
      return new Promise<void>((resolve) => {
        release = resolve;
        setImmediate(resolve);
      });
    };
    const store = new GuardedContentStore(flaky, { logger, signal: new AbortController().signal, delay });
    const downloads = Array.from({ length: 20 }, () => store.getBuffer(hash, 10));
    await new Promise((resolve) => setImmediate(resolve));
    assert.match(store.refusal ?? '', /refuses our requests: .*SignatureDoesNotMatch \(since /);
    const results = await Promise.all(downloads);
    release();
    assert.ok(results.every((data) => data.toString() === 'x'));
    assert.equal(store.refusal, undefined, 'ready again');
    assert.deepEqual(waits, [1000, 2000, 4000]);
    assert.equal(store.probes, 3);
    assert.ok(innerCalls <= 20 + 3 + 20, `the 20 held calls did not retry on their own (${innerCalls} calls)`);
    assert.ok(lines.length <= 5, lines.join('\n'));
  });

  it('stopping rejects the held calls; other errors pass straight through', async () => {
    const inner = new MemoryContentStore();
    const controller = new AbortController();
    const refusing = Object.assign(Object.create(inner) as MemoryContentStore, {
      stat: async () => Promise.reject(s3Error('AccessDenied')),
    });
    const store = new GuardedContentStore(refusing, { logger: collectingLogger().logger, signal: controller.signal });
    const held = store.stat('b'.repeat(64));
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort(new Error('stopping'));
    await assert.rejects(held, /stopping/);
    const failing = Object.assign(Object.create(inner) as MemoryContentStore, {
      stat: async () => Promise.reject(new Error('disk on fire')),
    });
    await assert.rejects(
      new GuardedContentStore(failing, { logger: collectingLogger().logger, signal: controller.signal }).stat(
        'c'.repeat(64),
      ),
      /disk on fire/,
    );
  });

  it('an unreachable store is said (until a request succeeds), and left to the callers to retry', async () => {
    const inner = new MemoryContentStore();
    let down = true;
    const flaky = Object.assign(Object.create(inner) as MemoryContentStore, {
      stat: async (hash: string) =>
        down
          ? Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8333'), { code: 'ECONNREFUSED' }))
          : inner.stat(hash),
    });
    const store = new GuardedContentStore(flaky, {
      logger: collectingLogger().logger,
      signal: new AbortController().signal,
      now: () => 0,
    });
    await assert.rejects(store.stat('d'.repeat(64)), /ECONNREFUSED/);
    assert.equal(
      store.refusal,
      'the content store is unreachable: connect ECONNREFUSED 127.0.0.1:8333 (since 1970-01-01T00:00:00.000Z)',
    );
    down = false;
    assert.equal(await store.stat('d'.repeat(64)), undefined);
    assert.equal(store.refusal, undefined);
  });
});
