// How `mirrorlog producer` starts when it cannot: final conditions end in one line and
// exit 2 (systemd must not restart into them forever); unreachable servers are waited
// for with the health endpoint up and one line per backoff step.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { tempDir } from '../helpers/producer.ts';
import { freePort, producerArgs, runCli, startService } from '../helpers/services.ts';
import { freshPrefix, freshTopic, stackConfig, waitFor } from '../helpers/stack.ts';

function oneLine(stderr: string): string {
  const lines = stderr
    .trim()
    .split('\n')
    .filter((line) => !line.startsWith('{'));
  assert.equal(lines.length, 1, `one line, got:\n${stderr}`);
  assert.doesNotMatch(lines[0]!, /^\s+at /m);
  return lines[0]!;
}

test('a wrong S3 secret: one line naming the options, exit 2', async (t) => {
  const root = tempDir(t, 'src');
  const args = [
    ...producerArgs(root, tempDir(t, 'state'), freshTopic(t), freshPrefix()),
    '--s3-secret-key',
    'not-the-secret',
    '--log-level',
    'silent',
    '--metrics-port',
    '0',
  ];
  const result = await runCli(args);
  assert.equal(result.code, 2, result.stderr);
  assert.match(
    oneLine(result.stderr),
    /^mirrorlog: S3 at .* refused the request \((SignatureDoesNotMatch|InvalidAccessKeyId|AccessDenied)\): check --s3-access-key and --s3-secret-key/,
  );
  assert.doesNotMatch(result.stderr, /not-the-secret/);
});

test('a state directory that cannot be written: one line naming it and MIRRORLOG_STATE_DIR, exit 2', async (t) => {
  const root = tempDir(t, 'src');
  const file = path.join(tempDir(t, 'ro'), 'a-file');
  fs.writeFileSync(file, '');
  const stateDir = path.join(file, 'state');
  const result = await runCli([...producerArgs(root, stateDir, freshTopic(t), freshPrefix()), '--log-level', 'silent']);
  assert.equal(result.code, 2, result.stderr);
  assert.equal(
    oneLine(result.stderr),
    `mirrorlog: the state directory ${stateDir} cannot be written (ENOTDIR): ` +
      `set --state-dir (MIRRORLOG_STATE_DIR) to a writable directory, e.g. a mounted volume`,
  );
});

test(
  'unreachable brokers: /readyz up and not ready with the reason, ' +
    'one line per backoff step, --give-up-after ends it',
  async (t) => {
    const root = tempDir(t, 'src');
    const nowhere = `127.0.0.1:${await freePort()}`;
    // The stack's brokers replaced, not added to: a repeated --brokers adds to the list.
    const unreachable = { ...stackConfig(), brokers: [nowhere] };
    const args = [
      ...producerArgs(root, tempDir(t, 'state'), freshTopic(t), freshPrefix(), unreachable),
      '--give-up-after',
      '6s',
    ];
    const producer = await startService(t, 'producer', args);
    const body = await waitFor(
      '/readyz to answer',
      async () => {
        const response = await fetch(`http://127.0.0.1:${producer.port}/readyz`).catch(() => undefined);
        const text = await response?.text();
        return response !== undefined && text?.includes('waiting for Kafka')
          ? { status: response.status, text }
          : undefined;
      },
      30_000,
      100,
    );
    assert.equal(body.status, 503);
    assert.match(body.text, new RegExp(`^not ready: waiting for Kafka at ${nowhere}: .*ECONNREFUSED`));
    const code = await producer.exited;
    assert.equal(code, 1);
    const output = producer.output.join('');
    const steps = output
      .split('\n')
      .filter((line) => line.includes(`waiting for Kafka at ${nowhere}`) && line.includes('retry'));
    assert.ok(steps.length >= 2 && steps.length <= 4, `one line per backoff step (1 s, 2 s, 4 s), got:\n${output}`);
    assert.match(
      output,
      new RegExp(`mirrorlog: gave up after \\d+ s waiting for Kafka at ${nowhere}: .*\\(--give-up-after\\)`),
    );
    assert.doesNotMatch(output, /^\s+at /m, 'no stack trace');
  },
);
