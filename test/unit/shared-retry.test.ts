import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backoffDelay, retry, sleep } from '../../services/shared/retry.ts';

/** A delay that records what it was asked to wait and returns at once. */
function recordingDelay() {
  const waits: number[] = [];
  return { waits, delay: async (ms: number) => void waits.push(ms) };
}

function failingTimes(count: number, value = 'done') {
  let calls = 0;
  const fn = async (attempt: number) => {
    calls += 1;
    if (attempt < count) throw new Error(`failure ${attempt}`);
    return value;
  };
  return { fn, calls: () => calls };
}

describe('backoffDelay', () => {
  it('grows by the factor up to the maximum, without jitter', () => {
    const options = { minDelayMs: 100, maxDelayMs: 1000, factor: 2, jitter: false };
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, options)),
      [100, 200, 400, 800, 1000, 1000],
    );
  });

  it('with full jitter, picks uniformly below the bound', () => {
    const options = { minDelayMs: 100, maxDelayMs: 1000 };
    assert.equal(
      backoffDelay(3, options, () => 0),
      0,
    );
    assert.equal(
      backoffDelay(3, options, () => 0.5),
      200,
    );
    assert.equal(
      backoffDelay(10, options, () => 0.999),
      999,
    );
  });
});

describe('retry', () => {
  it('returns the first success without waiting', async () => {
    const { waits, delay } = recordingDelay();
    assert.equal(await retry(async () => 42, { delay }), 42);
    assert.deepEqual(waits, []);
  });

  it('retries with backoff until the call succeeds', async () => {
    const { waits, delay } = recordingDelay();
    const { fn, calls } = failingTimes(3);
    const retried: number[] = [];
    const result = await retry(fn, {
      retries: 5,
      jitter: false,
      minDelayMs: 10,
      delay,
      onRetry: ({ retry: n }) => retried.push(n),
    });
    assert.equal(result, 'done');
    assert.equal(calls(), 4);
    assert.deepEqual(waits, [10, 20, 40]);
    assert.deepEqual(retried, [1, 2, 3]);
  });

  it('throws the last error unchanged once the retries are used up', async () => {
    const { waits, delay } = recordingDelay();
    const { fn, calls } = failingTimes(100);
    await assert.rejects(retry(fn, { retries: 2, delay }), { message: 'failure 2' });
    assert.equal(calls(), 3);
    assert.equal(waits.length, 2);
  });

  it('throws a non-retryable error at once', async () => {
    const { waits, delay } = recordingDelay();
    class NotFound extends Error {}
    let calls = 0;
    const fn = async () => {
      calls += 1;
      throw new NotFound('gone');
    };
    await assert.rejects(
      retry(fn, { retries: 10, delay, isRetryable: (error) => !(error instanceof NotFound) }),
      NotFound,
    );
    assert.equal(calls, 1);
    assert.deepEqual(waits, []);
  });

  it('without a retry bound, keeps going until the signal aborts', async () => {
    const controller = new AbortController();
    const reason = new Error('shutting down');
    let waits = 0;
    const delay = async () => {
      waits += 1;
      if (waits === 50) controller.abort(reason);
    };
    const { fn, calls } = failingTimes(Number.POSITIVE_INFINITY);
    await assert.rejects(retry(fn, { delay, signal: controller.signal }), (error) => error === reason);
    assert.equal(calls(), 50);
  });

  it('does not call fn when the signal is already aborted', async () => {
    const { fn, calls } = failingTimes(0);
    await assert.rejects(retry(fn, { signal: AbortSignal.abort(new Error('stop')) }), { message: 'stop' });
    assert.equal(calls(), 0);
  });

  it('reports the abort rather than the error when aborted during a call', async () => {
    const controller = new AbortController();
    const fn = async () => {
      controller.abort(new Error('stop'));
      throw new Error('connection reset');
    };
    await assert.rejects(retry(fn, { signal: controller.signal, delay: async () => {} }), { message: 'stop' });
  });
});

describe('sleep', () => {
  it('resolves after the delay', async () => {
    const started = Date.now();
    await sleep(5);
    assert.ok(Date.now() - started >= 4);
  });

  it('rejects at once with the reason when aborted, before or during the wait', async () => {
    await assert.rejects(sleep(10, AbortSignal.abort(new Error('early'))), { message: 'early' });
    const controller = new AbortController();
    const started = Date.now();
    const waiting = sleep(60_000, controller.signal);
    controller.abort(new Error('late'));
    await assert.rejects(waiting, { message: 'late' });
    assert.ok(Date.now() - started < 1000);
  });
});
