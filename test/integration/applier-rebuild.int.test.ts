// Rebuilds against the real stack: an applier whose position fell out of the log
// rebuilds by itself and sweeps what the log no longer holds (a tombstone it never
// saw), and a rebuild interrupted by a stop continues after the restart.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { applierStack, events, snapshot, trySnapshot } from '../helpers/applier-harness.ts';
import { kafkaAdmin, waitFor } from '../helpers/stack.ts';

test('a replica whose position fell out of the log rebuilds and sweeps what it missed', async (t) => {
  const stack = await applierStack(t, { deletable: true });
  const target = join(stack.dir, 'replica');
  const one = await stack.put('one');
  const two = await stack.put('two');
  await stack.publish([
    events.dir('a'),
    events.file('a/1', one),
    events.file('a/2', two),
    events.dir('b'),
    events.file('b/x', one),
  ]);
  const applier = await stack.start(stack.config({ target, replica: 'late' }));
  await waitFor('first sync', () =>
    (JSON.parse(trySnapshot(target) ?? '[]') as string[]).length === 5 ? true : undefined,
  );
  await applier.stop();

  // While the replica is away: a/2 is deleted, and the log is "compacted" past the
  // tombstone (the current tree re-published, everything before it deleted).
  await stack.publish([events.delete('a/2')]);
  const admin = await kafkaAdmin(t);
  const before = await admin.fetchTopicOffsets(stack.topic);
  await stack.publish([events.dir('a'), events.file('a/1', one), events.dir('b'), events.file('b/x', one)]);
  await admin.deleteTopicRecords({
    topic: stack.topic,
    partitions: before.map(({ partition, high }) => ({ partition, offset: high })),
  });

  const rebuilt = await stack.start(stack.config({ target, replica: 'late' }));
  await waitFor('the rebuild to sweep a/2', () => (rebuilt.readiness().ready ? true : undefined));
  assert.deepEqual(snapshot(target), [
    'a dir 755',
    `a/1 file 644 1690000000123 ${one.hash.slice(0, 12)}`,
    'b dir 755',
    `b/x file 644 1690000000123 ${one.hash.slice(0, 12)}`,
  ]);
  const swept =
    (await rebuilt.registry.getSingleMetric('mirrorlog_applier_swept_entries_total')?.get())?.values[0]?.value ?? 0;
  assert.ok(swept >= 1, 'the sweep, not a replayed delete, removed a/2 (its tombstone was gone)');
});

test('a rebuild interrupted by a stop continues after the restart, then sweeps', async (t) => {
  const stack = await applierStack(t);
  const target = join(stack.dir, 'replica');
  const list = [events.dir('d')];
  for (let i = 0; i < 30; i++) list.push(events.file(`d/f${i}`, await stack.put(`file ${i}`)));
  // Content that is not in the store holds its partition (d's) for the bounded retry.
  list.push(events.file('d/missing', { hash: 'ee'.repeat(32), size: 4 }));
  list.push(events.file('d/after', await stack.put('after the missing one')));
  await stack.publish(list);

  const slowMissing = { missingRetries: 2, missingDelayMs: 1500 };
  const first = await stack.start(stack.config({ target, replica: 'resume' }), slowMissing);
  await waitFor('the files before the missing one', () =>
    (JSON.parse(trySnapshot(target) ?? '[]') as string[]).length === 31 ? true : undefined,
  );
  assert.match(first.readiness().reason ?? '', /rebuilding/);
  await first.stop();

  writeFileSync(join(target, 'unknown'), 'not from the log');
  const second = await stack.start(stack.config({ target, replica: 'resume' }), {
    missingRetries: 0,
    missingDelayMs: 10,
  });
  await waitFor('the rebuild to complete', () => (second.readiness().ready ? true : undefined));
  assert.equal(existsSync(join(target, 'unknown')), false, 'swept');
  assert.equal(existsSync(join(target, 'd/after')), true);
  assert.equal(existsSync(join(target, 'd/missing')), false);
  assert.equal(snapshot(target).length, 32);
});
