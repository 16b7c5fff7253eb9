// `npm start` = `mirrorlog up`: from an empty working directory it creates ./data/source
// and ./data/replica, mirrors a dropped file, and stops cleanly on Ctrl-C (SIGINT).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { defer } from '../helpers/cleanup.ts';
import { tempDir } from '../helpers/producer.ts';
import { waitFor } from '../helpers/stack.ts';
import { upEnvironment } from '../helpers/up-env.ts';

const BIN = fileURLToPath(new URL('../../bin/mirrorlog.js', import.meta.url));

test('mirrorlog up mirrors ./data/source into ./data/replica and stops on Ctrl-C', { timeout: 180_000 }, async (t) => {
  const cwd = tempDir(t, 'up');
  const child = spawn(process.execPath, [BIN, 'up', '--metrics-port', '0'], {
    cwd,
    env: upEnvironment(t),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  defer(t, () => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  await waitFor(
    'up to say it is mirroring',
    () =>
      output.includes('Ctrl-C stops') ? true : child.exitCode !== null ? Promise.reject(new Error(output)) : undefined,
    120_000,
  );
  assert.ok(fs.statSync(path.join(cwd, 'data/source')).isDirectory());

  const started = Date.now();
  fs.writeFileSync(path.join(cwd, 'data/source/dropped.html'), '<p>hello</p>');
  await waitFor(
    'the dropped file on the replica',
    () => (fs.existsSync(path.join(cwd, 'data/replica/dropped.html')) ? true : undefined),
    10_000,
    5,
  );
  t.diagnostic(`visible on the replica ${Date.now() - started} ms after the write`);
  assert.equal(fs.readFileSync(path.join(cwd, 'data/replica/dropped.html'), 'utf8'), '<p>hello</p>');

  child.kill('SIGINT');
  assert.equal(await exited, 0, output);
  assert.match(output, /mirrorlog up: stopping/);
});
