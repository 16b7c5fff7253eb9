// Restarts: the index makes a restart cost one local walk, publishing only what
// changed while the producer was down; a lost index is rebuilt from the topic.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { CHANGE_TIME_SLACK_MS } from '../../services/producer/adapters/tree-watcher.ts';
import { waitForLog } from '../helpers/converge.ts';
import { startTestProducer, tempDir } from '../helpers/producer.ts';
import { freshTopic, kafkaAdmin, waitFor } from '../helpers/stack.ts';
import { followTopic } from '../helpers/topic.ts';

async function recordsInTopic(t: TestContext, topic: string): Promise<number> {
  const admin = await kafkaAdmin(t);
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, { high }) => sum + Number(high), 0);
}

function seedTree(root: string): void {
  for (let d = 0; d < 5; d++) {
    fs.mkdirSync(path.join(root, `dir${d}/sub`), { recursive: true });
    for (let f = 0; f < 10; f++) fs.writeFileSync(path.join(root, `dir${d}/sub/file${f}.txt`), `dir ${d} file ${f}`);
  }
  fs.symlinkSync('dir0/sub/file0.txt', path.join(root, 'link'));
  // Above the inline limit: content that goes through the object store.
  fs.writeFileSync(path.join(root, 'dir0/large.bin'), Buffer.alloc(64 * 1024, 1));
}

test('a restart with no changes publishes nothing; one after offline changes publishes exactly those', async (t) => {
  const root = tempDir(t, 'source');
  const topic = freshTopic(t);
  const stateDir = tempDir(t, 'state');
  seedTree(root);
  const first = await startTestProducer(t, { root, topic, stateDir });
  const follower = await followTopic(t, topic);
  await waitForLog(follower, root, 'initial publish');
  // A first publication: the tree was counted (5 dirs, their 5 subs, 51 files, a link) and its ETA reached 0.
  const gauge = async (g: { get(): Promise<{ values: { value: number }[] }> }) => (await g.get()).values[0]?.value;
  assert.equal(await gauge(first.producer.metrics.firstPublicationExpected), 62, 'the new tree was counted');
  assert.equal(await gauge(first.producer.metrics.firstPublicationPublished), 62, 'all of it was published');
  assert.equal(await gauge(first.producer.metrics.firstPublicationEta), 0, 'and the first publication finished');
  await first.producer.stop();
  const afterFirst = await recordsInTopic(t, topic);

  const second = await startTestProducer(t, { root, topic, stateDir, s3Prefix: first.config.s3Prefix });
  assert.equal(
    (await second.producer.metrics.eventsPublished.get()).values.length,
    0,
    'nothing published after a restart without changes',
  );
  assert.equal(await recordsInTopic(t, topic), afterFirst);
  assert.equal((await second.producer.metrics.filesHashed.get()).values[0]?.value ?? 0, 0, 'no file was read again');
  assert.equal(await gauge(second.producer.metrics.firstPublicationExpected), 0, 'a restart is no first publication');
  await second.producer.stop();

  // Offline: one create, one modify, one delete, one chmod, one rename (= delete + create).
  fs.writeFileSync(path.join(root, 'dir1/new.txt'), 'new');
  fs.appendFileSync(path.join(root, 'dir2/sub/file1.txt'), ' changed');
  fs.rmSync(path.join(root, 'dir3/sub/file2.txt'));
  fs.chmodSync(path.join(root, 'dir4/sub/file3.txt'), 0o600);
  fs.renameSync(path.join(root, 'dir0/sub/file9.txt'), path.join(root, 'dir0/file9-moved.txt'));
  const seen = follower.events.length;
  const third = await startTestProducer(t, { root, topic, stateDir, s3Prefix: first.config.s3Prefix });
  await waitForLog(follower, root, 'after offline changes');
  // And the new mtimes of the four directories whose entries changed.
  await waitFor('the four directories to be published', () => (follower.events.length >= seen + 10 ? true : undefined));
  const dirs = follower.events.slice(seen).flatMap((e) => (e.op === 'dir' ? [e.path] : []));
  assert.deepEqual(dirs.sort(), ['dir0', 'dir0/sub', 'dir1', 'dir3/sub']);
  assert.equal((await recordsInTopic(t, topic)) - afterFirst, 10, 'exactly the offline changes were published');
  assert.equal((await third.producer.metrics.filesHashed.get()).values[0]?.value, 4, 'only changed files were read');
});

test('parcel: a first start on an existing tree watches it with one subscription, not one per directory', async (t) => {
  const root = tempDir(t, 'source');
  seedTree(root);
  fs.mkdirSync(path.join(root, 'deep/er/still'), { recursive: true });
  const newest = Math.max(
    ...['', 'deep', 'deep/er', 'dir0', 'dir0/sub'].map((dir) => fs.statSync(path.join(root, dir)).ctimeMs),
  );
  await waitFor('the tree to be older than the watcher crawl', () =>
    Date.now() - newest > CHANGE_TIME_SLACK_MS ? true : undefined,
  );
  const topic = freshTopic(t);
  const { producer } = await startTestProducer(t, { root, topic, watcher: 'parcel' });
  const follower = await followTopic(t, topic);
  await waitForLog(follower, root, 'first start');
  assert.equal((await producer.metrics.watcherSubscriptions.get()).values[0]?.value, 1);
});

test('a lost index is rebuilt from the topic: nothing republished, nothing uploaded', async (t) => {
  const root = tempDir(t, 'source');
  const topic = freshTopic(t);
  seedTree(root);
  const first = await startTestProducer(t, { root, topic });
  const follower = await followTopic(t, topic);
  await waitForLog(follower, root, 'initial publish');
  assert.equal(
    (await first.producer.metrics.objectsUploaded.get()).values[0]?.value,
    1,
    'the large file was uploaded once',
  );
  await first.producer.stop();
  const before = await recordsInTopic(t, topic);

  // A new, empty state directory: the index is gone.
  const second = await startTestProducer(t, { root, topic, s3Prefix: first.config.s3Prefix });
  assert.equal(await recordsInTopic(t, topic), before, 'nothing republished');
  assert.equal((await second.producer.metrics.objectsUploaded.get()).values[0]?.value ?? 0, 0, 'nothing uploaded');
  fs.writeFileSync(path.join(root, 'after-rebuild.txt'), 'still watching');
  await waitForLog(follower, root, 'a change after the rebuild');
  const seqs = follower.events.map((e) => e.seq);
  assert.ok(seqs.at(-1)! > Math.max(...seqs.slice(0, -1)), 'seqs keep increasing after the rebuild');
});

test('rm -rf of 10,000 directories at once (guard off) ends with every entry deleted in the log', async (t) => {
  const root = tempDir(t, 'source');
  const topic = freshTopic(t);
  const big = path.join(root, 'big');
  for (let d = 0; d < 10_000; d++) {
    fs.mkdirSync(path.join(big, `d${d}`), { recursive: true });
    if (d % 10 === 0) fs.writeFileSync(path.join(big, `d${d}/f`), `file ${d}`);
  }
  fs.writeFileSync(path.join(root, 'keep.txt'), 'keep');
  // A mass deletion the operator means: with the guard on, it would be held (producer-delete-guard.int.test.ts).
  const { producer } = await startTestProducer(t, { root, topic, maxDelete: '0' });
  const follower = await followTopic(t, topic);
  await waitForLog(follower, root, 'the big tree published', 120_000);
  fs.rmSync(big, { recursive: true });
  await waitForLog(follower, root, 'after rm -rf', 60_000);
  assert.deepEqual([...follower.state().keys()], ['keep.txt']);
  await producer.whenIdle();
});

test('a second tree is refused on a topic that holds another source', async (t) => {
  const topic = freshTopic(t);
  const first = tempDir(t, 'source-a');
  fs.writeFileSync(path.join(first, 'a.txt'), 'a');
  const a = await startTestProducer(t, { root: first, topic, source: 'tree-a' });
  await a.producer.whenIdle();
  await a.producer.stop();
  await assert.rejects(
    startTestProducer(t, { root: tempDir(t, 'source-b'), topic, source: 'tree-b' }),
    /already holds the tree of source 'tree-a'/,
  );
});
