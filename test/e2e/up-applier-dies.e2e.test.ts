// One failure channel (issue 12): when the applier inside a running `mirrorlog up` dies,
// `up` stops its producer and exits non-zero with one line naming the applier and why.
// It used to keep printing a frozen status line, its producer publishing for a replica
// that no longer followed.
//
// How the applier is made to die, for real: a rebuild must remove a stray file from the
// target, and that file is immutable (chattr +i: not even root may unlink it), so the
// rebuild's sweep fails and the apply lane ends. The sweep runs once the replay reaches
// the log's end; an immutable directory holds the replay (its partition retries) until
// `up` is running, so the death comes after the start, not during it.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { defer } from '../helpers/cleanup.ts';
import { tempDir } from '../helpers/producer.ts';
import { startService } from '../helpers/services.ts';
import { waitFor } from '../helpers/stack.ts';
import { upEnvironment } from '../helpers/up-env.ts';

const BIN = fileURLToPath(new URL('../../bin/mirrorlog.js', import.meta.url));

const chattr = (flag: '+i' | '-i', file: string) => execFileSync('chattr', [flag, file], { stdio: 'pipe' });

test(
  'mirrorlog up whose applier dies: stops the producer, exits non-zero with one line',
  { timeout: 300_000 },
  async (t) => {
    const cwd = tempDir(t, 'up-dies');
    const env = upEnvironment(t);
    const root = path.join(cwd, 'data/source');
    const target = path.join(cwd, 'data/replica');
    fs.mkdirSync(path.join(root, 'd'), { recursive: true });
    fs.writeFileSync(path.join(root, 'd/page.html'), '<p>page</p>');

    // The log holds the tree before `up` starts: its applier's rebuild has something to replay.
    const producer = await startService(t, 'producer', ['producer', '--root', root], env);
    await producer.waitReady();
    assert.equal(await producer.kill('SIGTERM'), 0, producer.output.join(''));

    fs.mkdirSync(path.join(target, 'd'), { recursive: true });
    fs.writeFileSync(path.join(target, 'stray'), 'not in the log');
    // Fails loudly where the filesystem has no immutable flag: the test cannot make its case there.
    chattr('+i', path.join(target, 'stray'));
    chattr('+i', path.join(target, 'd'));
    defer(t, () => {
      for (const file of ['stray', 'd']) {
        try {
          chattr('-i', path.join(target, file));
        } catch {
          // already mutable (or gone)
        }
      }
    });

    const child = spawn(process.execPath, [BIN, 'up', '--rebuild', '--metrics-port', '0', '--log-level', 'info'], {
      cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    defer(t, () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    await waitFor(
      'up to say it is mirroring',
      () =>
        stdout.includes('Ctrl-C stops')
          ? true
          : child.exitCode !== null
            ? Promise.reject(new Error(`up exited early:\n${stdout}\n${stderr}`))
            : undefined,
      120_000,
    );
    assert.equal(fs.existsSync(path.join(target, 'd/page.html')), false, 'the replay is held by the immutable d');

    // The replay goes on, reaches the end of the log, and the sweep meets the stray file it cannot remove.
    chattr('-i', path.join(target, 'd'));
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      exited,
      new Promise<'still running'>((resolve) => (timer = setTimeout(() => resolve('still running'), 120_000))),
    ]);
    clearTimeout(timer);
    assert.notEqual(code, 'still running', `up kept running after its applier died:\n${stdout}\n${stderr}`);
    assert.notEqual(code, 0, stderr);
    assert.equal(fs.readFileSync(path.join(target, 'd/page.html'), 'utf8'), '<p>page</p>', 'the replay went on');

    // One line for the operator (the rest of stderr, if any, is the JSON log).
    const said = stderr.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('{'));
    assert.equal(said.length, 1, stderr);
    t.diagnostic(said[0]!);
    assert.match(said[0]!, /^mirrorlog: applier failed: .*(EPERM|not permitted)/);
    // The producer was stopped by `up`, not left publishing (nor cut off by the exit).
    const logged = (stdout + stderr)
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { msg?: string; service?: string });
    const producerStopped = logged.findIndex(
      (entry) => entry.service === 'producer' && entry.msg === 'producer stopped',
    );
    const applierStopped = logged.findIndex((entry) => entry.service === 'applier' && entry.msg === 'applier stopped');
    assert.ok(applierStopped >= 0, 'the applier stopped');
    assert.ok(producerStopped > applierStopped, 'the producer was stopped after the applier died');
  },
);
