// Reproduction: a second applier with the same --replica (another target and state
// directory, as on another machine) split the partitions and reset the group's offsets
// to 0; verify then called the first replica's files "extra" and --repair deleted them.
// Now the second one exits with one line, the group is untouched, and verify and
// --repair never act on offsets that disagree with the replica's index.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { applierStack, events, snapshot, trySnapshot } from '../helpers/applier-harness.ts';
import { replicaGroupId } from '../../schemas/names.ts';
import { runCli } from '../helpers/services.ts';
import { kafkaAdmin, waitFor } from '../helpers/stack.ts';

async function committed(admin: Awaited<ReturnType<typeof kafkaAdmin>>, topic: string, group: string): Promise<string> {
  const [entry] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
  return JSON.stringify(entry!.partitions.map((p) => [p.partition, p.offset]).sort());
}

test(
  'a second applier for a replica exits with one line and never moves the group; ' +
    'verify and --repair do not trust moved offsets',
  { timeout: 240_000 },
  async (t) => {
    const stack = await applierStack(t);
    const list = [events.dir('a'), events.dir('b'), events.dir('c')];
    for (const dir of ['a', 'b', 'c'])
      for (let i = 0; i < 6; i++) list.push(events.file(`${dir}/f${i}`, await stack.put(`${dir} ${i}`)));
    await stack.publish(list);
    const target = join(stack.dir, 'first');
    const stateDir = join(stack.dir, 'first-state');
    const first = await stack.start(stack.config({ target, replica: 'dup', stateDir }));
    await waitFor('the first replica', () =>
      (JSON.parse(trySnapshot(target) ?? '[]') as string[]).length === 21 && first.readiness().ready ? true : undefined,
    );
    const admin = await kafkaAdmin(t);
    const high = JSON.stringify((await admin.fetchTopicOffsets(stack.topic)).map((p) => [p.partition, p.high]).sort());
    await waitFor('the group to commit everything', async () =>
      (await committed(admin, stack.topic, replicaGroupId(stack.topic, 'dup'))) === high ? true : undefined,
    );

    const second = await stack.runApplierCli({
      target: join(stack.dir, 'second'),
      stateDir: join(stack.dir, 'second-state'),
      replica: 'dup',
    });
    assert.equal(second.code, 2, second.stdout + second.stderr);
    const lastLine = second.stderr.trim().split('\n').at(-1)!;
    assert.match(
      lastLine,
      /^mirrorlog: replica 'dup' already has a running applier \(consumer group mirrorlog\.replica\.\S+\.dup: mirrorlog-applier-dup on /,
    );
    assert.doesNotMatch(second.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(
      await committed(admin, stack.topic, replicaGroupId(stack.topic, 'dup')),
      high,
      'the group offsets did not move',
    );
    assert.equal(first.readiness().ready, true);
    await first.stop();
    const good = snapshot(target);

    const verify = (...extra: string[]) =>
      runCli([
        'verify',
        '--target',
        target,
        '--replica',
        'dup',
        '--state-dir',
        stateDir,
        ...stack.cliFlags(),
        '--log-level',
        'warn',
        ...extra,
      ]);
    const clean = await verify();
    assert.equal(clean.code, 0, clean.stdout + clean.stderr);

    // What the second applier used to do: the group's offsets back at 0.
    await admin.setOffsets({
      groupId: replicaGroupId(stack.topic, 'dup'),
      topic: stack.topic,
      partitions: [0, 1, 2].map((partition) => ({ partition, offset: '0' })),
    });
    const moved = await verify();
    assert.equal(moved.code, 1, moved.stdout + moved.stderr);
    assert.match(moved.stderr, /differ from the replica's index/);
    assert.doesNotMatch(moved.stdout, /^extra/m, 'nothing called extra');
    const repair = await verify('--repair');
    assert.equal(repair.code, 2, repair.stdout + repair.stderr);
    assert.match(repair.stderr, /--repair refused: the replica's index and its group's offsets disagree/);
    assert.deepEqual(snapshot(target), good, 'nothing deleted');
  },
);
