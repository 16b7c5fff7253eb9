// The producer against the real stack: what it publishes for each kind of change, with
// the log's latest state compared to an independent snapshot of the source tree.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { contentKey } from '../../schemas/content-key.ts';
import { waitForLog } from '../helpers/converge.ts';
import { startTestProducer, tempDir } from '../helpers/producer.ts';
import { freshTopic, minioClient, readAll, stackConfig } from '../helpers/stack.ts';
import { followTopic } from '../helpers/topic.ts';

async function setup(t: TestContext, watcher = 'auto') {
  const root = tempDir(t, 'source');
  const topic = freshTopic(t);
  const { producer, config } = await startTestProducer(t, { root, topic, watcher });
  const follower = await followTopic(t, topic);
  return { root, topic, producer, config, follower };
}

const LARGE = 20 * 1024; // above the default inline limit (16 KiB): goes through the store

test(
  'create, modify, chmod, symlink, delete: each published; ' + 'small files inline, large ones stored by hash',
  async (t) => {
    const { root, follower, config } = await setup(t);
    fs.mkdirSync(path.join(root, 'news/2026'), { recursive: true });
    fs.writeFileSync(path.join(root, 'news/2026/a.html'), '<h1>a</h1>');
    fs.writeFileSync(path.join(root, 'news/2026/video.bin'), Buffer.alloc(LARGE, 7));
    fs.writeFileSync(path.join(root, 'top.txt'), 'top');
    fs.symlinkSync('news/2026/a.html', path.join(root, 'link'));
    await waitForLog(follower, root, 'creates');

    const small = follower.events.find((e) => e.path === 'news/2026/a.html');
    assert.equal(
      small?.op === 'file' ? small.data?.toString() : undefined,
      '<h1>a</h1>',
      'a small file travels inside its record',
    );
    const large = follower.events.find((e) => e.path === 'news/2026/video.bin');
    assert.ok(large?.op === 'file' && large.data === undefined, 'a large file does not');
    const minio = minioClient(t);
    const stored = await readAll(await minio.getObject(stackConfig().bucket, contentKey(large.hash, config.s3Prefix)));
    assert.deepEqual(stored, Buffer.alloc(LARGE, 7));

    fs.appendFileSync(path.join(root, 'top.txt'), ' more');
    fs.chmodSync(path.join(root, 'news/2026/a.html'), 0o600);
    fs.chmodSync(path.join(root, 'news'), 0o700);
    await waitForLog(follower, root, 'modify and chmod');

    fs.rmSync(path.join(root, 'link'));
    fs.rmSync(path.join(root, 'top.txt'));
    await waitForLog(follower, root, 'deletes');
    const last = follower.events.at(-1)!;
    assert.equal(last.op, 'delete');
  },
);

test('renaming a file or a directory uploads nothing new', async (t) => {
  const { root, follower, producer } = await setup(t);
  fs.mkdirSync(path.join(root, 'd/sub'), { recursive: true });
  for (let i = 0; i < 20; i++) fs.writeFileSync(path.join(root, `d/sub/f${i}`), Buffer.alloc(LARGE, i));
  fs.writeFileSync(path.join(root, 'single'), Buffer.alloc(LARGE, 99));
  await waitForLog(follower, root, 'initial tree');
  const uploaded = (await producer.metrics.objectsUploaded.get()).values[0]?.value ?? 0;
  assert.ok(uploaded >= 21);

  fs.renameSync(path.join(root, 'd'), path.join(root, 'e'));
  fs.renameSync(path.join(root, 'single'), path.join(root, 'renamed'));
  await waitForLog(follower, root, 'after renames');
  assert.equal((await producer.metrics.objectsUploaded.get()).values[0]?.value ?? 0, uploaded);
});

// The default backend (fanotify here) and @parcel/watcher, whose compensations these two prove.
for (const watcher of ['auto', 'parcel']) {
  test(
    `${watcher}: changes inside a directory after it was renamed (twice) ` + `are published under their real paths`,
    async (t) => {
      const { root, follower } = await setup(t, watcher);
      fs.mkdirSync(path.join(root, 'a/inner/deeper'), { recursive: true });
      fs.writeFileSync(path.join(root, 'a/inner/deeper/x'), 'x');
      await waitForLog(follower, root, 'initial');
      fs.renameSync(path.join(root, 'a'), path.join(root, 'b'));
      await waitForLog(follower, root, 'first rename');
      fs.writeFileSync(path.join(root, 'b/inner/deeper/y'), 'y');
      fs.writeFileSync(path.join(root, 'b/inner/z'), 'z');
      await waitForLog(follower, root, 'writes after the first rename');
      fs.renameSync(path.join(root, 'b'), path.join(root, 'c'));
      await waitForLog(follower, root, 'second rename');
      fs.writeFileSync(path.join(root, 'c/inner/deeper/w'), 'w');
      fs.appendFileSync(path.join(root, 'c/inner/deeper/x'), 'more');
      await waitForLog(follower, root, 'writes after the second rename');
    },
  );

  test(
    `${watcher}: files written into mkdir -p directories ` + `and into a directory moved in from outside are published`,
    async (t) => {
      const { root, follower } = await setup(t, watcher);
      const staging = tempDir(t, 'staging');
      fs.mkdirSync(path.join(root, '2026/11/25'), { recursive: true });
      fs.writeFileSync(path.join(root, '2026/11/25/first.html'), '1');
      fs.mkdirSync(path.join(staging, 'job/images/large'), { recursive: true });
      fs.writeFileSync(path.join(staging, 'job/index.html'), 'index');
      fs.writeFileSync(path.join(staging, 'job/images/large/p.jpg'), 'jpg');
      fs.renameSync(path.join(staging, 'job'), path.join(root, '2026/11/25/job'));
      await waitForLog(follower, root, 'mkdir -p and moved-in directory');
      // Later writes inside: the watcher never reports these without extra subscriptions.
      fs.writeFileSync(path.join(root, '2026/11/25/second.html'), '2');
      fs.writeFileSync(path.join(root, '2026/11/25/job/images/large/q.jpg'), 'q');
      fs.writeFileSync(path.join(root, '2026/11/later.html'), 'later');
      await waitForLog(follower, root, 'writes inside them afterwards');
    },
  );
}

test('a file appended to in a loop is never published in a state it never had at rest', async (t) => {
  const { root, follower } = await setup(t);
  const file = path.join(root, 'growing.log');
  const line = 'x'.repeat(100) + '\n';
  fs.writeFileSync(file, '');
  const deadline = Date.now() + 1500;
  while (Date.now() < deadline) {
    fs.appendFileSync(file, line);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await waitForLog(follower, root, 'after the appends');
  const published = follower.events.filter(
    (event): event is Extract<typeof event, { op: 'file' }> => event.path === 'growing.log' && event.op === 'file',
  );
  assert.ok(published.length >= 2, `expected the file to be published while growing, got ${published.length} events`);
  for (const event of published) {
    // Every size at rest was a whole number of lines; a torn read would show another.
    assert.equal(event.size % line.length, 0, `published a size (${event.size}) that never existed at rest`);
  }
});
