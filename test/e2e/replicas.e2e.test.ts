// The operator's jobs around replicas: add one mid-stream, rebuild one whose disk was
// lost, check one with verify (and repair what was tampered with), and restore the tree
// as it was between two bursts.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { defer } from '../helpers/cleanup.ts';
import { waitForReplica } from '../helpers/converge.ts';
import { tempDir } from '../helpers/producer.ts';
import { applierArgs, producerArgs, runCli, stackFlags, startService } from '../helpers/services.ts';
import { freshPrefix, freshTopic, waitFor } from '../helpers/stack.ts';
import { followTopic } from '../helpers/topic.ts';
import { diffTrees, snapshotTree } from '../helpers/tree.ts';
import { Workload } from '../helpers/workload.ts';

async function setup(t: TestContext) {
  const source = tempDir(t, 'source');
  const topic = freshTopic(t);
  const prefix = freshPrefix();
  const producer = await startService(t, 'producer', producerArgs(source, tempDir(t, 'pstate'), topic, prefix));
  await producer.waitReady();
  const replica = async (
    name: string,
    target = tempDir(t, `replica-${name}`),
    stateDir = tempDir(t, `astate-${name}`),
    extra: string[] = [],
  ) => {
    const applier = await startService(t, `applier ${name}`, [
      ...applierArgs(target, stateDir, name, topic, prefix),
      ...extra,
    ]);
    await applier.waitReady();
    return { applier, target, stateDir };
  };
  return { source, topic, prefix, producer, replica };
}

test('a second replica added mid-stream converges', { timeout: 300_000 }, async (t) => {
  const { source, replica } = await setup(t);
  const workload = new Workload(source, 11);
  const a = await replica('a');
  workload.run(400);
  const b = await replica('b');
  workload.run(400);
  await waitForReplica(source, a.target, 'replica a');
  await waitForReplica(source, b.target, 'replica b');
});

test('a replica whose directory was deleted converges after a rebuild', { timeout: 300_000 }, async (t) => {
  const { source, replica } = await setup(t);
  const workload = new Workload(source, 12);
  workload.run(500);
  const first = await replica('lost');
  await waitForReplica(source, first.target, 'before the disk loss');
  await first.applier.kill('SIGTERM');
  fs.rmSync(first.target, { recursive: true, force: true });
  workload.run(200);
  // Same replica, same state directory: the target is empty while the index is not.
  const again = await replica('lost', first.target, first.stateDir);
  await waitForReplica(source, again.target, 'after the rebuild');
  assert.ok(((await again.applier.metric('mirrorlog_applier_events_total')) ?? 0) > 0);
});

test('verify finds drift, --repair fixes it; a replica in sync verifies clean', { timeout: 300_000 }, async (t) => {
  const { source, topic, prefix, replica } = await setup(t);
  new Workload(source, 13).run(300);
  fs.writeFileSync(path.join(source, 'large.bin'), Buffer.alloc(100 * 1024, 3));
  const r = await replica('checked');
  await waitForReplica(source, r.target, 'replica in sync');
  await r.applier.kill('SIGTERM');
  const verify = (extra: string[] = []) =>
    runCli([
      'verify',
      '--target',
      r.target,
      '--replica',
      'checked',
      '--state-dir',
      r.stateDir,
      // the workload's files are 02755 and the applier keeps that (test/helpers/services.ts)
      '--allow-setid',
      ...stackFlags(topic, prefix),
      '--log-level',
      'warn',
      ...extra,
    ]);

  const clean = await verify(['--hash']);
  assert.equal(clean.code, 0, clean.stdout + clean.stderr);
  assert.match(clean.stdout, /no drift/);

  // Tamper: delete a file, change bytes in place (same size, same mtime), add junk, chmod a directory.
  const tree = await snapshotTree(r.target);
  const files = [...tree].filter(([, e]) => e.kind === 'file').map(([p]) => p);
  fs.rmSync(path.join(r.target, files[0]!));
  const victim = path.join(r.target, 'large.bin');
  const stats = fs.statSync(victim);
  fs.writeFileSync(victim, Buffer.alloc(100 * 1024, 4));
  fs.utimesSync(victim, stats.atime, stats.mtime);
  fs.writeFileSync(path.join(r.target, 'junk.txt'), 'not in the log');
  fs.chmodSync(r.target, 0o755);
  const dirs = [...tree].filter(([, e]) => e.kind === 'dir').map(([p]) => p);
  if (dirs[0] !== undefined) fs.chmodSync(path.join(r.target, dirs[0]), 0o700);

  const quick = await verify();
  assert.equal(quick.code, 1);
  assert.match(quick.stdout, /missing/);
  assert.match(quick.stdout, /extra .*junk\.txt/);
  assert.doesNotMatch(quick.stdout, /content .*large\.bin/, 'without --hash, same size and mtime look the same');
  const deep = await verify(['--hash']);
  assert.match(deep.stdout, /content .*large\.bin/);

  const repaired = await verify(['--hash', '--repair']);
  assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
  await waitForReplica(source, r.target, 'after the repair', 5_000);
});

test('restore at a time between two bursts yields exactly the first burst', { timeout: 300_000 }, async (t) => {
  const { source, topic, prefix } = await setup(t);
  const workload = new Workload(source, 14);
  workload.run(300);
  fs.writeFileSync(path.join(source, 'large.bin'), Buffer.alloc(200 * 1024, 5));
  const first = await snapshotTree(source);
  const follower = await followTopic(t, topic);
  await waitFor(
    'the first burst in the log',
    () => (diffTrees(first, follower.state()).length === 0 ? true : undefined),
    60_000,
    100,
  );
  // The first burst is detected before `between`, the second after it.
  const between = new Date(Date.now() + 1000);
  await waitFor(
    'the clock to pass the restore time',
    () => (Date.now() > between.getTime() + 50 ? true : undefined),
    5000,
    20,
  );
  workload.run(300);
  fs.rmSync(path.join(source, 'large.bin'));
  const replica = await (async () => {
    const target = tempDir(t, 'latest');
    const applier = await startService(
      t,
      'applier latest',
      applierArgs(target, tempDir(t, 'astate'), 'latest', topic, prefix),
    );
    await applier.waitReady();
    return target;
  })();
  await waitForReplica(source, replica, 'the second burst applied');

  const restored = path.join(tempDir(t, 'restore'), 'tree');
  const result = await runCli([
    'restore',
    '--target',
    restored,
    '--at',
    between.toISOString(),
    '--allow-setid',
    ...stackFlags(topic, prefix),
    '--log-level',
    'warn',
  ]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  await waitForReplica(first, restored, 'the restored tree', 1000);

  const outside = await runCli([
    'restore',
    '--target',
    path.join(tempDir(t, 'restore2'), 'x'),
    '--at',
    '-30d',
    ...stackFlags(topic, prefix),
  ]);
  assert.equal(outside.code, 1);
  assert.match(outside.stderr, /outside the history window/);
});

test('status shows each replica in sync, and a stalled one (exit 1)', { timeout: 300_000 }, async (t) => {
  const { source, topic, prefix, replica } = await setup(t);
  new Workload(source, 15).run(200);
  const healthy = await replica('healthy');
  const frozen = await replica('frozen');
  await waitForReplica(source, healthy.target, 'replica healthy');
  await waitForReplica(source, frozen.target, 'replica frozen');
  const status = (extra: string[] = []) =>
    runCli(['status', '--json', '--sample', '500ms', ...stackFlags(topic, prefix), ...extra]);

  const inSync = await status();
  assert.equal(inSync.code, 0, inSync.stdout + inSync.stderr);
  const report = JSON.parse(inSync.stdout) as {
    producer: { lastSeq: number };
    replicas: { replica: string; lag: number; stalled: boolean; lastAppliedAt: number }[];
  };
  assert.ok(report.producer.lastSeq > 0);
  assert.deepEqual(
    report.replicas.map((r) => [r.replica, r.lag, r.stalled]),
    [
      ['frozen', 0, false],
      ['healthy', 0, false],
    ],
  );
  assert.ok(
    report.replicas.every((r) => r.lastAppliedAt > 0),
    'the appliers note when they last applied',
  );

  // A frozen applier (SIGSTOP) falls behind and commits nothing: stalled.
  frozen.applier.child.kill('SIGSTOP');
  defer(t, () => frozen.applier.child.kill('SIGCONT'));
  fs.writeFileSync(path.join(source, 'while-frozen.txt'), 'x');
  await waitForReplica(source, healthy.target, 'the healthy replica moves on');
  await waitFor(
    'status to see the frozen replica stalled',
    async () => {
      const result = await status(['--stall-after', '1s']);
      return result.code === 1 && /"stalled": true/.test(result.stdout) ? true : undefined;
    },
    60_000,
    500,
  );
  frozen.applier.child.kill('SIGCONT');
  await waitForReplica(source, frozen.target, 'the frozen replica catches up once resumed');
});
