// Reproduction 2 of issue 14: trees sharing a store prefix share content, and gc of one
// tree deleted another tree's objects. Producers now register their topic under the
// prefix, and gc reads every registered topic before deleting anything.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import type { GcReport } from '../../services/cli/gc.ts';
import { S3ContentStore } from '../../services/shared/s3-content-store.ts';
import { registerTree, registeredTopics } from '../../services/shared/tree-registry.ts';
import { defer } from '../helpers/cleanup.ts';
import { startTestProducer, tempDir } from '../helpers/producer.ts';
import { runCli, stackFlags } from '../helpers/services.ts';
import { freshPrefix, freshTopic, stackStoreOptions } from '../helpers/stack.ts';

test('reproduction 2: gc of one tree keeps the content of another tree sharing the prefix', async (t) => {
  const prefix = freshPrefix();
  const store = new S3ContentStore(stackStoreOptions({ prefix }));
  defer(t, async () => {
    for await (const object of store.list()) await store.remove(object.hash);
    for (const topic of await registeredTopics(store)) await store.removeDocument(`trees/${topic}.json`);
    store.close();
  });
  const trees = ['a', 'b'].map((name) => ({ name, root: tempDir(t, `tree-${name}`), topic: freshTopic(t) }));
  for (const tree of trees) {
    // Above the inline limit: the content goes through the store.
    fs.writeFileSync(path.join(tree.root, 'large.bin'), Buffer.alloc(64 * 1024, tree.name.charCodeAt(0)));
    const { producer } = await startTestProducer(t, { root: tree.root, topic: tree.topic, s3Prefix: prefix });
    await producer.whenIdle();
    await producer.stop();
  }
  assert.deepEqual(await registeredTopics(store), trees.map((tree) => tree.topic).sort());
  const count = async () => {
    let objects = 0;
    for await (const _object of store.list()) objects++;
    return objects;
  };
  assert.equal(await count(), 2);

  const gc = await runCli([
    'gc',
    ...stackFlags(trees[0]!.topic, prefix),
    '--grace',
    '0',
    '--force',
    '--json',
    '--log-level',
    'warn',
  ]);
  assert.equal(gc.code, 0, gc.stderr);
  const report = JSON.parse(gc.stdout) as GcReport;
  assert.deepEqual(
    [report.referenced.count, report.garbage.count, report.deleted.count],
    [2, 0, 0],
    'both trees referenced',
  );
  assert.equal(await count(), 2, "tree b's content is still stored");

  // A registered tree gc cannot read: nothing is deleted.
  await registerTree(store, { v: 1, topic: 'gone-elsewhere', source: 's', host: 'h', root: '/r', at: 0 });
  const refused = await runCli([
    'gc',
    ...stackFlags(trees[0]!.topic, prefix),
    '--grace',
    '0',
    '--force',
    '--log-level',
    'warn',
  ]);
  assert.equal(refused.code, 2);
  assert.match(
    refused.stderr,
    /also holds the content of 'gone-elsewhere', registered there but not found on .*: gc cannot tell what they reference, so it deletes nothing/,
  );
  const forgot = await runCli([
    'gc',
    ...stackFlags(trees[0]!.topic, prefix),
    '--unregister',
    'gone-elsewhere',
    '--log-level',
    'warn',
  ]);
  assert.equal(forgot.code, 0, forgot.stderr);
  assert.deepEqual(await registeredTopics(store), trees.map((tree) => tree.topic).sort());
});
