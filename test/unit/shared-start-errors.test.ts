import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DeadlineError, withinMs } from '../../services/shared/deadline.ts';
import { CliError } from '../../services/shared/errors.ts';
import { classifyStartError, waitForServer } from '../../services/shared/start-errors.ts';

const where = { kafka: '127.0.0.1:9092', s3: 'http://127.0.0.1:8333' };
const s3Error = (code: string) => Object.assign(new Error(`S3 said ${code}`), { name: 'S3Error', code });
const kafkaError = (name: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${name} happened`), { name, ...extra });

test('rejected S3 credentials are final, and the line names the options to fix', () => {
  for (const code of ['SignatureDoesNotMatch', 'InvalidAccessKeyId', 'AccessDenied']) {
    const failure = classifyStartError(s3Error(code), where);
    assert.equal(failure.kind, 'final', code);
    assert.match(
      failure.message,
      new RegExp(
        `S3 at http://127.0.0.1:8333 refused the request \\(${code}\\): check --s3-access-key and --s3-secret-key \\(MIRRORLOG_S3_ACCESS_KEY, MIRRORLOG_S3_SECRET_KEY\\)`,
      ),
    );
    assert.doesNotMatch(failure.message, /mirrorlog-local-only/, 'no secret in the line');
  }
});

test('Kafka authentication and authorization failures are final, even wrapped by kafkajs', () => {
  const wrapped = kafkaError('KafkaJSNonRetriableError', {
    retriable: false,
    cause: kafkaError('KafkaJSProtocolError', { type: 'TOPIC_AUTHORIZATION_FAILED' }),
  });
  assert.deepEqual(classifyStartError(wrapped, where).kind, 'final');
  assert.match(
    classifyStartError(wrapped, where).message,
    /Kafka at 127.0.0.1:9092 refused the request \(TOPIC_AUTHORIZATION_FAILED\)/,
  );
  assert.equal(classifyStartError(kafkaError('KafkaJSSASLAuthenticationError'), where).kind, 'final');
});

test('unreachable servers and leaders moving after topic creation are transient', () => {
  assert.equal(
    classifyStartError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), where).kind,
    'transient',
  );
  assert.equal(
    classifyStartError(
      kafkaError('KafkaJSNumberOfRetriesExceeded', { cause: kafkaError('KafkaJSConnectionError') }),
      where,
    ).kind,
    'transient',
  );
  assert.equal(
    classifyStartError(kafkaError('KafkaJSProtocolError', { type: 'NOT_LEADER_OR_FOLLOWER', retriable: true }), where)
      .kind,
    'transient',
  );
  assert.equal(classifyStartError(s3Error('ServiceUnavailable'), where).kind, 'transient');
});

test('at start, what kafkajs would retry is waited for: a topic just made whose metadata has not spread', () => {
  const unknownTopic = kafkaError('KafkaJSProtocolError', { type: 'UNKNOWN_TOPIC_OR_PARTITION', retriable: true });
  assert.equal(classifyStartError(unknownTopic, where).kind, 'transient');
  assert.equal(
    classifyStartError(kafkaError('KafkaJSNumberOfRetriesExceeded', { cause: unknownTopic }), where).kind,
    'transient',
  );
  assert.equal(
    classifyStartError(kafkaError('KafkaJSProtocolError', { type: 'INVALID_CONFIG', retriable: false }), where).kind,
    'final',
  );
});

test('operator errors and unknown failures are final', () => {
  assert.deepEqual(classifyStartError(new CliError('topic x holds another tree'), where), {
    kind: 'final',
    message: 'topic x holds another tree',
  });
  assert.equal(classifyStartError(new TypeError('bug'), where).kind, 'final');
  assert.deepEqual(classifyStartError(s3Error('NoSuchBucket'), where), {
    kind: 'final',
    message: 'S3 at http://127.0.0.1:8333: S3 said NoSuchBucket',
  });
});

function fakeClock() {
  let now = 0;
  const waits: number[] = [];
  return {
    now: () => now,
    delay: async (ms: number) => {
      waits.push(ms);
      now += ms;
    },
    waits,
  };
}

test('a transient failure is retried with backoff, one log line and a readiness reason per step', async () => {
  const clock = fakeClock();
  const lines: string[] = [];
  const reasons: (string | undefined)[] = [];
  let attempts = 0;
  const result = await waitForServer(
    async () => {
      if (++attempts < 4) throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' });
      return 'up';
    },
    {
      what: 'Kafka at 127.0.0.1:1',
      where,
      logger: { warn: (_fields: object, line: string) => lines.push(line) } as never,
      setReason: (r) => reasons.push(r),
      giveUpAfterMs: 0,
      ...clock,
    },
  );
  assert.equal(result, 'up');
  assert.deepEqual(clock.waits, [1000, 2000, 4000]);
  assert.equal(lines.length, 3);
  assert.match(lines[0]!, /^waiting for Kafka at 127.0.0.1:1: connect ECONNREFUSED 127.0.0.1:1; retry 1 in 1.0 s$/);
  assert.equal(reasons.at(-1), undefined, 'ready to go on once it succeeded');
  assert.match(reasons[0]!, /waiting for Kafka/);
});

test('--give-up-after ends the wait with one line, exit 1; a final error at once with exit 2', async () => {
  const clock = fakeClock();
  const options = {
    what: 'S3 at x',
    where,
    logger: { warn: () => undefined } as never,
    setReason: () => undefined,
    giveUpAfterMs: 5000,
    ...clock,
  };
  const unreachable = async () => {
    throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  };
  await assert.rejects(
    waitForServer(unreachable, options),
    (error: unknown) =>
      error instanceof CliError && error.exitCode === 1 && /gave up after 7 s waiting for S3 at x/.test(error.message),
  );
  let calls = 0;
  await assert.rejects(
    waitForServer(async () => {
      calls++;
      throw s3Error('SignatureDoesNotMatch');
    }, options),
    (error: unknown) => error instanceof CliError && error.exitCode === 2,
  );
  assert.equal(calls, 1, 'a final error is not retried');
});

test('a start step that hangs past its bound is tried again, and the next try can succeed', async () => {
  const clock = fakeClock();
  let attempts = 0;
  const hangs = new Promise<string>(() => undefined); // a kafkajs call that never answers
  const result = await waitForServer(() => withinMs(++attempts === 1 ? hangs : Promise.resolve('up'), 5), {
    what: 'the topic t',
    where,
    logger: { warn: () => undefined } as never,
    setReason: () => undefined,
    giveUpAfterMs: 0,
    ...clock,
  });
  assert.equal(result, 'up');
  assert.equal(attempts, 2);
  assert.equal(classifyStartError(new DeadlineError(5), where).kind, 'transient');
});
