// Refused versus other failures while running: the store that holds calls while
// credentials are refused instead of letting every download retry on its own. (How the
// errors are classified: shared-failure-kind.test.ts; the start-up wait:
// shared-start-errors.test.ts.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GuardedContentStore } from '../../services/shared/guarded-content-store.ts';
import { MemoryContentStore } from '../../services/shared/memory-content-store.ts';

const s3Error = (code: string) => Object.assign(new Error(`S3 says ${code}`), { code });

function collectingLogger() {
  const lines: string[] = [];
  const log = (_fields: unknown, message?: string) => lines.push(message ?? String(_fields));
  return { lines, logger: { warn: log, error: log, info: log } };
}

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
