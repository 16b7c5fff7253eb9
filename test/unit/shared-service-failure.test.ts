// One failure channel: a running service that dies ends the process with its reason, and
// both container entrypoints answer a configuration error with one line and exit 2.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CliError } from '../../services/shared/errors.ts';
import { firstFailure, runUntilSignal } from '../../services/shared/service-lifecycle.ts';

const never = () => new Promise<never>(() => {});

test('a service that dies after it is ready is stopped, and the run fails with its reason', async () => {
  let stopped = 0;
  let die!: (error: Error) => void;
  const failure = new Promise<never>((_, reject) => (die = reject));
  const run = runUntilSignal(
    'applier',
    async () => ({ ready: Promise.resolve(), failure, stop: async () => void stopped++ }),
    {
      exit: () => undefined,
    },
  );
  setImmediate(() => die(new Error('the Kafka consumer failed for good')));
  await assert.rejects(run, (error: unknown) => {
    assert.ok(error instanceof CliError);
    assert.equal(error.message, 'applier failed: the Kafka consumer failed for good');
    assert.equal(error.exitCode, 1);
    return true;
  });
  assert.equal(stopped, 1);
});

test('when two services run together, either one dying is the failure, named', async () => {
  const dies = Promise.reject(new Error('disk gone'));
  const both = firstFailure({ producer: { ready: Promise.resolve(), failure: never() }, applier: { failure: dies } });
  await assert.rejects(both, /^CliError: applier failed: disk gone$/);
  const late = firstFailure({
    producer: { ready: Promise.reject(new CliError('topic holds another tree')), failure: never() },
  });
  await assert.rejects(
    late,
    (error: unknown) =>
      error instanceof CliError && error.message === 'topic holds another tree' && error.exitCode === 2,
  );
});

// The applier's case is the one reported: MIRRORLOG_REPLICA missing printed a stack trace, exit 1.
const CASES = [
  { service: 'producer', env: {}, names: /--root/ },
  {
    service: 'applier',
    env: { MIRRORLOG_TARGET: '/tmp/mirrorlog-entrypoint-test' },
    names: /--replica \(MIRRORLOG_REPLICA\)/,
  },
];
for (const { service, env: extra, names } of CASES) {
  test(`the ${service} container entrypoint answers a configuration error with one line and exit 2`, () => {
    const main = fileURLToPath(new URL(`../../services/${service}/main.ts`, import.meta.url));
    const env = {
      ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('MIRRORLOG_'))),
      ...extra,
    };
    const run = spawnSync(process.execPath, ['--import', 'tsx', main], { env, encoding: 'utf8', timeout: 60_000 });
    assert.equal(run.status, 2, run.stderr);
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.match(lines[0]!, /^mirrorlog: /);
    assert.match(lines[0]!, names);
  });
}
