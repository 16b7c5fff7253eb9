// Pid files, process stops, atomic installs and the stack lock, with throwaway
// processes (`sleep`) and temp directories: no servers involved.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { installOnce, isInstalled } from './install.ts';
import { withStackLock } from './lock.ts';
import { isOurs, launch, readPidFile, stopProcess } from './processes.ts';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mirrorlog-stack-test-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const sleeper = (dir: string) => ({
  command: 'sleep',
  args: ['300'],
  cwd: dir,
  env: process.env,
  logFile: join(dir, 'sleep.log'),
});

test('a launched process is recorded, recognised, and stopped with SIGTERM', async (t) => {
  const dir = await tempDir(t);
  const pidFile = join(dir, 'sleep.pid.json');
  const record = await launch(sleeper(dir), pidFile, { what: 'test' });
  t.after(() => {
    try {
      process.kill(record.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  assert.deepEqual((await readPidFile(pidFile))?.argv, ['sleep', '300']);
  assert.equal(await isOurs(record), true);
  assert.equal(await stopProcess(pidFile, 5_000), 'stopped');
  assert.equal(await isOurs(record), false);
  assert.equal(existsSync(pidFile), false);
  assert.equal(await stopProcess(pidFile, 5_000), 'not-running');
});

test('a pid whose command line differs from the record is never signalled', async (t) => {
  const dir = await tempDir(t);
  const pidFile = join(dir, 'other.pid.json');
  const real = await launch(sleeper(dir), join(dir, 'real.pid.json'), {});
  t.after(() => stopProcess(join(dir, 'real.pid.json'), 1_000));
  await writeFile(pidFile, JSON.stringify({ pid: real.pid, argv: ['java', 'kafka.Kafka'], startedAt: '', info: {} }));
  assert.equal(await stopProcess(pidFile, 1_000), 'not-running');
  assert.equal(await isOurs(real), true, 'the sleep process must still run');
  assert.equal(existsSync(pidFile), false, 'the stale pid file is removed');
});

test('installOnce: a failed build leaves nothing that looks installed; a good one lands whole', async (t) => {
  const dir = await tempDir(t);
  const target = join(dir, 'thing-1.0');
  await assert.rejects(
    installOnce(target, async (temp) => {
      await writeFile(join(temp, 'half'), 'x');
      throw new Error('network down');
    }),
    /network down/,
  );
  assert.equal(await isInstalled(target), false);
  assert.equal(existsSync(target), false);

  await installOnce(target, async (temp) => writeFile(join(temp, 'bin'), 'ok'));
  assert.equal(await isInstalled(target), true);
  assert.deepEqual((await readdir(dir)).sort(), ['thing-1.0'], 'the failed attempt was cleaned up');
  let rebuilt = false;
  await installOnce(target, async () => {
    rebuilt = true;
  });
  assert.equal(rebuilt, false, 'an installed dir is reused');
});

test('the stack lock runs one command at a time and takes over a dead owner', async (t) => {
  const dir = await tempDir(t);
  await writeFile(join(dir, 'stack.lock'), '999999999\n'); // an owner that does not exist
  const order: string[] = [];
  const first = withStackLock(
    dir,
    5_000,
    () => undefined,
    async () => {
      order.push('first start');
      await new Promise((r) => setImmediate(r));
      order.push('first end');
    },
  );
  const second = withStackLock(
    dir,
    5_000,
    () => undefined,
    async () => {
      order.push('second');
    },
  );
  await Promise.all([first, second]);
  assert.deepEqual(order, ['first start', 'first end', 'second']);
  assert.equal(existsSync(join(dir, 'stack.lock')), false);
});
