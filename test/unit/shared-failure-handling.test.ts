// Final versus transient failures: how Kafka and S3 errors are classified, the start-up
// wait (one line per backoff step, a final error at once for refused credentials, a
// give-up time), and the store that holds calls while credentials are refused instead
// of letting every download retry on its own.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CliError } from '../../services/shared/errors.ts';
import { classifyFailure, failureMessage } from '../../services/shared/failure-kind.ts';
import { GuardedContentStore } from '../../services/shared/guarded-content-store.ts';
import { MemoryContentStore } from '../../services/shared/memory-content-store.ts';
import { untilReachable } from '../../services/shared/until-reachable.ts';

const s3Error = (code: string) => Object.assign(new Error(`S3 says ${code}`), { code });
const kafkaError = (type: string) => Object.assign(new Error(`broker says ${type}`), { name: 'KafkaJSProtocolError', type });
const connectionRefused = () =>
  Object.assign(new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1'), { name: 'KafkaJSNonRetriableError', originalError: Object.assign(new Error('connect ECONNREFUSED'), { name: 'KafkaJSConnectionError', code: 'ECONNREFUSED' }) });

function collectingLogger() {
  const lines: string[] = [];
  const log = (_fields: unknown, message?: string) => lines.push(message ?? String(_fields));
  return { lines, logger: { warn: log, error: log, info: log } };
}

describe('classifyFailure', () => {
  it('refused credentials and permissions are auth, from S3 and from Kafka, wrapped or not', () => {
    for (const code of ['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied']) assert.equal(classifyFailure(s3Error(code)), 'auth', code);
    for (const type of ['TOPIC_AUTHORIZATION_FAILED', 'GROUP_AUTHORIZATION_FAILED', 'SASL_AUTHENTICATION_FAILED']) assert.equal(classifyFailure(kafkaError(type)), 'auth', type);
    assert.equal(classifyFailure({ name: 'KafkaJSNonRetriableError', originalError: kafkaError('CLUSTER_AUTHORIZATION_FAILED') }), 'auth');
  });

  it('network failures and leader elections are unreachable (retried); a missing bucket is its own kind', () => {
    assert.equal(classifyFailure(connectionRefused()), 'unreachable');
    assert.equal(classifyFailure(Object.assign(new Error('getaddrinfo ENOTFOUND nowhere'), { code: 'ENOTFOUND' })), 'unreachable');
    assert.equal(classifyFailure(kafkaError('NOT_LEADER_OR_FOLLOWER')), 'unreachable');
    assert.equal(classifyFailure(kafkaError('LEADER_NOT_AVAILABLE')), 'unreachable');
    assert.equal(classifyFailure(s3Error('NoSuchBucket')), 'missing-bucket');
    assert.equal(classifyFailure(new TypeError('a bug')), 'other');
  });

  it('the message is one line with the code', () => {
    assert.equal(failureMessage(s3Error('SignatureDoesNotMatch')), 'S3 says SignatureDoesNotMatch');
    assert.equal(failureMessage(Object.assign(new Error('bad\nthing'), { code: 'EX' })), 'EX: bad thing');
  });
});

describe('untilReachable', () => {
  const base = { giveUpAfterMs: 0, credentialsHint: '--s3-secret-key' };

  it('logs one line per backoff step, says why in readiness, and returns once the server answers', async () => {
    const { lines, logger } = collectingLogger();
    const waits: number[] = [];
    const reasons: (string | undefined)[] = [];
    let calls = 0;
    const result = await untilReachable('Kafka at b:1', async () => (++calls < 4 ? Promise.reject(connectionRefused()) : 'up'), {
      ...base,
      logger,
      onWaiting: (reason) => reasons.push(reason),
      delay: async (ms) => void waits.push(ms),
    });
    assert.equal(result, 'up');
    assert.deepEqual(waits, [1000, 2000, 4000], 'growing backoff, not a tight loop');
    assert.equal(lines.length, 3);
    assert.match(lines[0]!, /^cannot reach Kafka at b:1: .*ECONNREFUSED.*; retrying in 1\.0 s$/);
    assert.equal(reasons.at(-1), undefined, 'ready once it answered');
    assert.match(reasons[0]!, /cannot reach Kafka/);
  });

  it('refused credentials: a final one-line error (exit 2) at the first attempt', async () => {
    const { logger } = collectingLogger();
    let calls = 0;
    const error = await untilReachable('S3', async () => {
      calls++;
      throw s3Error('SignatureDoesNotMatch');
    }, { ...base, logger, delay: async () => undefined }).catch((e: unknown) => e);
    assert.ok(error instanceof CliError);
    assert.equal(error.exitCode, 2);
    assert.match(error.message, /^S3 refused the credentials: .*SignatureDoesNotMatch; check --s3-secret-key$/);
    assert.equal(calls, 1);
  });

  it('gives up after --give-up-after (exit 1), and rethrows what it does not understand', async () => {
    const { logger } = collectingLogger();
    let clock = 0;
    const error = await untilReachable('Kafka', async () => Promise.reject(connectionRefused()), {
      ...base,
      giveUpAfterMs: 5000,
      logger,
      now: () => clock,
      delay: async (ms) => void (clock += ms),
    }).catch((e: unknown) => e);
    assert.ok(error instanceof CliError);
    assert.equal(error.exitCode, 1);
    assert.match(error.message, /^gave up after 7 s \(--give-up-after\): cannot reach Kafka/);
    const bug = new TypeError('bug');
    await assert.rejects(untilReachable('x', async () => Promise.reject(bug), { ...base, logger }), (e) => e === bug);
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
    const refusing = Object.assign(Object.create(inner) as MemoryContentStore, { stat: async () => Promise.reject(s3Error('AccessDenied')) });
    const store = new GuardedContentStore(refusing, { logger: collectingLogger().logger, signal: controller.signal });
    const held = store.stat('b'.repeat(64));
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort(new Error('stopping'));
    await assert.rejects(held, /stopping/);
    const failing = Object.assign(Object.create(inner) as MemoryContentStore, { stat: async () => Promise.reject(new Error('disk on fire')) });
    await assert.rejects(new GuardedContentStore(failing, { logger: collectingLogger().logger, signal: controller.signal }).stat('c'.repeat(64)), /disk on fire/);
  });
});
