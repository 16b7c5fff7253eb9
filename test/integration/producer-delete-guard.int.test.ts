// The mass-deletion guard against a real Kafka: an empty source (a replaced or unmounted
// root, or a burst that deletes most of the tree) publishes no deletes until confirmed,
// and everything else goes on being published meanwhile.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { waitForLog } from '../helpers/converge.ts';
import { startTestProducer, tempDir } from '../helpers/producer.ts';
import { freshTopic, waitFor } from '../helpers/stack.ts';
import { followTopic, type TopicFollower } from '../helpers/topic.ts';

function seed(root: string, dirs: number, files: number): void {
  for (let d = 0; d < dirs; d++) {
    fs.mkdirSync(path.join(root, `d${d}`), { recursive: true });
    for (let f = 0; f < files; f++) fs.writeFileSync(path.join(root, `d${d}/f${f}.txt`), `${d}/${f}`);
  }
}

const converged = (follower: TopicFollower, root: string, what: string) => waitForLog(follower, root, what, 90_000);

async function readyz(port: number): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { status: response.status, body: await response.text() };
}

test(
  'reproduction 1: a replaced root (mv src src.real; mkdir src) ' + 'publishes no deletes until --confirm-deletes',
  async (t) => {
    const parent = tempDir(t, 'guard');
    const root = path.join(parent, 'src');
    fs.mkdirSync(root);
    seed(root, 10, 10);
    const topic = freshTopic(t);
    const stateDir = tempDir(t, 'guard-state');
    const first = await startTestProducer(t, { root, topic, stateDir });
    const follower = await followTopic(t, topic);
    await converged(follower, root, 'initial publish');
    const before = new Set(follower.state().keys());
    assert.equal(before.size, 110);
    await first.producer.stop();

    fs.renameSync(root, path.join(parent, 'src.real'));
    fs.mkdirSync(root);
    const second = await startTestProducer(t, { root, topic, stateDir, s3Prefix: first.config.s3Prefix });
    // Everything else goes on: a new file is published while the deletes are held.
    fs.writeFileSync(path.join(root, 'new.txt'), 'written after the swap');
    await waitFor('new.txt to be published', () => (follower.state().has('new.txt') ? true : undefined), 60_000, 100);
    await second.producer.whenIdle();
    const held = [...before].filter((p) => !follower.state().has(p));
    assert.deepEqual(held, [], 'no entry of the old tree was deleted from the log');
    const ready = await readyz(second.producer.port);
    assert.equal(ready.status, 503);
    assert.match(ready.body, /deletes held: the root is not the directory the index was made from \(.*inode/);
    assert.match(ready.body, /--confirm-deletes/);
    assert.equal((await second.producer.metrics.deleteGuardHolding.get()).values[0]?.value, 1);
    assert.equal((await second.producer.metrics.deletesHeld.get()).values[0]?.value, 110);
    await second.producer.stop();

    // The operator confirms: the deletes are published, and the new root is the one recorded.
    const third = await startTestProducer(t, {
      root,
      topic,
      stateDir,
      s3Prefix: first.config.s3Prefix,
      confirmDeletes: true,
    });
    await converged(follower, root, 'after --confirm-deletes');
    assert.deepEqual([...follower.state().keys()], ['new.txt']);
    assert.equal((await readyz(third.producer.port)).status, 200);
    await third.producer.stop();
    const fourth = await startTestProducer(t, { root, topic, stateDir, s3Prefix: first.config.s3Prefix });
    assert.equal((await readyz(fourth.producer.port)).status, 200, 'the confirmed root is the recorded one now');
  },
);

test('a burst deleting most of the tree is held; small deletes and everything else are published', async (t) => {
  const root = tempDir(t, 'burst');
  seed(root, 3, 100);
  fs.writeFileSync(path.join(root, 'keep.txt'), 'keep');
  const topic = freshTopic(t);
  const { producer } = await startTestProducer(t, { root, topic });
  const follower = await followTopic(t, topic);
  await converged(follower, root, 'initial publish');

  // 5 of 304 entries: an edit, published.
  for (let f = 0; f < 5; f++) fs.rmSync(path.join(root, `d0/f${f}.txt`));
  await converged(follower, root, 'a few deletes');
  assert.equal((await readyz(producer.port)).status, 200);

  // 2 of 3 directories at once (~200 entries, more than 50%): held.
  fs.rmSync(path.join(root, 'd1'), { recursive: true });
  fs.rmSync(path.join(root, 'd2'), { recursive: true });
  await waitFor(
    'the guard to hold',
    async () => ((await producer.metrics.deleteGuardHolding.get()).values[0]?.value === 1 ? true : undefined),
    60_000,
    100,
  );
  fs.writeFileSync(path.join(root, 'after.txt'), 'after the burst');
  await waitFor('after.txt to be published', () => (follower.state().has('after.txt') ? true : undefined), 60_000, 100);
  assert.ok(
    follower.state().has('d1/f0.txt') && follower.state().has('d2/f99.txt') && follower.state().has('d1'),
    'the burst was not published',
  );
  const ready = await readyz(producer.port);
  assert.equal(ready.status, 503);
  assert.match(
    ready.body,
    /\d+ of \d+ entries \(\d+%\) would be deleted at once, more than --max-delete allows \(149\)/,
  );
});

test('--max-delete 0 turns the guard off', async (t) => {
  const root = tempDir(t, 'off');
  seed(root, 2, 100);
  const topic = freshTopic(t);
  await startTestProducer(t, { root, topic, maxDelete: '0' });
  const follower = await followTopic(t, topic);
  await converged(follower, root, 'initial publish');
  fs.rmSync(path.join(root, 'd0'), { recursive: true });
  fs.rmSync(path.join(root, 'd1'), { recursive: true });
  await converged(follower, root, 'everything deleted');
  assert.equal(follower.state().size, 0);
});
