// Reproduction: an applier with a wrong S3 secret retried ~30 times a second forever
// while `status` said "catching up". Now a refused secret at start is one line, exit 2;
// refused while running, downloads are held behind one probe per backoff step and
// /readyz says why, and they go on once the store accepts the requests again.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { applierStack, events, trySnapshot } from '../helpers/applier-harness.ts';
import { freePort } from '../helpers/services.ts';
import { stackConfig, stackStoreOptions, waitFor } from '../helpers/stack.ts';
import { pino } from 'pino';
import type { MirrorEvent } from '../../schemas/event.ts';
import { startApplier } from '../../services/applier/applier.ts';
import type { ContentStore } from '../../services/shared/content-store.ts';
import { S3ContentStore } from '../../services/shared/s3-content-store.ts';

test('a wrong S3 secret at start: one line naming the credentials, exit 2', { timeout: 120_000 }, async (t) => {
  const stack = await applierStack(t);
  const result = await stack.runApplierCli({
    target: join(stack.dir, 'target'),
    stateDir: join(stack.dir, 'state'),
    replica: 'badsecret',
    extra: ['--s3-secret-key', 'not-the-secret'],
  });
  assert.equal(result.code, 2, result.stdout + result.stderr);
  const lines = result.stderr.trim().split('\n');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(
    lines[0]!,
    /^mirrorlog: S3 at .* refused the request \((SignatureDoesNotMatch|InvalidAccessKeyId|AccessDenied)\): check --s3-access-key and --s3-secret-key/,
  );
  assert.doesNotMatch(result.stderr + result.stdout, /not-the-secret/, 'the secret never appears');
});

test(
  'credentials refused while running: not ready with the reason, a few probes, no tight loop; then it converges',
  { timeout: 180_000 },
  async (t) => {
    const stack = await applierStack(t);
    const good = stack.store;
    const bad = new S3ContentStore(stackStoreOptions({ secretKey: 'rotated-away', prefix: stack.prefix }));
    t.after(() => bad.close());
    let current: ContentStore = good;
    let badRequests = 0;
    const count = <T>(call: () => Promise<T>) => {
      if (current === bad) badRequests++;
      return call();
    };
    // The store the applier uses; the test turns its credentials wrong and right again.
    const switching: ContentStore = {
      stat: (hash) => count(() => current.stat(hash)),
      putFile: (hash, file, size) => count(() => current.putFile(hash, file, size)),
      putBuffer: (hash, data) => count(() => current.putBuffer(hash, data)),
      getBuffer: (hash, max) => count(() => current.getBuffer(hash, max)),
      getToFile: (hash, file) => count(() => current.getToFile(hash, file)),
      list: (prefix) => {
        if (current === bad) badRequests++;
        return current.list(prefix);
      },
      remove: (hash) => count(() => current.remove(hash)),
    };
    const target = join(stack.dir, 'replica');
    const before = await stack.put('before the rotation');
    await stack.publish([events.file('before', before)]);
    const applier = await startApplier(stack.config({ target, replica: 'rotated' }), {
      store: switching,
      logger: pino({ level: 'silent' }),
      tuning: { sessionTimeoutMs: 6000 },
    });
    t.after(() => applier.stop());
    await waitFor('the first file', () =>
      applier.readiness().ready && (trySnapshot(target) ?? '').includes('before') ? true : undefined,
    );

    current = bad;
    const files: MirrorEvent[] = [];
    for (let i = 0; i < 20; i++)
      files.push(events.file(`after/${i}`, await stack.put(`after the rotation ${i} ${'x'.repeat(20_000)}`)));
    await stack.publish([events.dir('after'), ...files]);
    const reason = await waitFor('not ready with the reason', () => {
      const readiness = applier.readiness();
      return !readiness.ready && /refuses our requests/.test(readiness.reason ?? '') ? readiness.reason : undefined;
    });
    assert.match(reason, /SignatureDoesNotMatch|InvalidAccessKeyId|AccessDenied/);
    const at = badRequests;
    const since = Date.now();
    await waitFor('five seconds of refusals', () => (Date.now() - since >= 5000 ? true : undefined), 10_000, 250);
    const rate = (badRequests - at) / ((Date.now() - since) / 1000);
    assert.ok(rate < 2, `at most a probe per backoff step, not a tight loop: ${rate.toFixed(1)} requests/s`);

    current = good;
    await waitFor(
      'the replica to converge once the store accepts again',
      () => {
        const snapshot = trySnapshot(target) ?? '';
        return applier.readiness().ready && files.every((_, i) => snapshot.includes(`after/${i} `)) ? true : undefined;
      },
      120_000,
      200,
    );
  },
);

test(
  'unreachable brokers at start: health up, not ready with the reason, one line per backoff step, --give-up-after',
  { timeout: 120_000 },
  async (t) => {
    const stack = await applierStack(t);
    const nowhere = await freePort(); // nothing listens there
    const applier = await stack.spawnApplier({
      target: join(stack.dir, 'target'),
      stateDir: join(stack.dir, 'state'),
      replica: 'unreachable',
      endpoints: { ...stackConfig(), brokers: [`127.0.0.1:${nowhere}`] },
      extra: ['--give-up-after', '8s'],
    });
    const reason = await waitFor(
      '/readyz to say why',
      async () => {
        const response = await fetch(`http://127.0.0.1:${applier.port}/readyz`).catch(() => undefined);
        if (response === undefined) return undefined;
        const text = await response.text();
        return response.status === 503 && /waiting for Kafka/.test(text) ? text : undefined;
      },
      60_000,
      100,
    );
    assert.match(reason, new RegExp(`^not ready: waiting for Kafka at 127\\.0\\.0\\.1:${nowhere}: .*ECONNREFUSED`));
    assert.equal((await fetch(`http://127.0.0.1:${applier.port}/healthz`)).status, 200);
    assert.equal(await applier.exited, 1, 'gave up');
    const output = applier.output.join('');
    const waits = output
      .split('\n')
      .filter((line) => line.includes('waiting for Kafka') && / retry \d+ in /.test(line));
    assert.ok(
      waits.length >= 2 && waits.length <= 5,
      `one line per backoff step (1 s, 2 s, 4 s...), got ${waits.length}:\n${output}`,
    );
    assert.match(output, /mirrorlog: gave up after \d+ s waiting for Kafka at .*\(--give-up-after\)/);
    assert.doesNotMatch(output, /\n\s+at /, 'no stack trace');
  },
);
