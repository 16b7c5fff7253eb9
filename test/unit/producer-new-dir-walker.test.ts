import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemorySourceTree } from '../../services/producer/adapters/memory-source-tree.ts';
import { NewDirectoryWalker } from '../../services/producer/new-dir-walker.ts';
import { createLogger } from '../../services/shared/logger.ts';

function walkerOver(tree: MemorySourceTree, onHint: (path: string) => void = () => undefined) {
  const hinted: string[] = [];
  let drained = 0;
  const walker = new NewDirectoryWalker({
    tree,
    hint: (path) => {
      hinted.push(path);
      onHint(path);
    },
    roomForHints: () => Promise.resolve(),
    onDrained: () => drained++,
    logger: createLogger({ level: 'silent', name: 'test' }),
  });
  const idle = async () => {
    for (let turn = 0; turn < 100 && walker.busy; turn++) await new Promise((resolve) => setImmediate(resolve));
  };
  return { walker, hinted, drained: () => drained, idle };
}

test('every directory added is listed, in order, and the walker says when it drained', async () => {
  const tree = new MemorySourceTree();
  tree.mkdirs('a/x');
  tree.writeFile('a/f', 'f');
  tree.mkdir('b');
  tree.writeFile('b/g', 'g');
  const { walker, hinted, drained, idle } = walkerOver(tree);
  walker.add('a');
  walker.add('b');
  assert.equal(walker.busy, true);
  await idle();
  assert.equal(walker.busy, false);
  assert.deepEqual(hinted.sort(), ['a/f', 'a/x', 'b/g']);
  assert.equal(drained(), 1);
});

// The examiner adds the directories it finds new while the walker's hints are examined: an
// add that comes right as the last listing ends must start another drain, or the
// directory's contents wait for the periodic reconcile (seen in the pull-job e2e).
test('a directory added as the walker finishes its last listing is listed too', async () => {
  const tree = new MemorySourceTree();
  tree.mkdir('first');
  tree.writeFile('first/only', 'x');
  tree.mkdir('second');
  tree.writeFile('second/file', 'y');
  let added = false;
  const { walker, hinted, idle } = walkerOver(tree, () => {
    if (added) return;
    added = true;
    // Runs once the listing's synchronous part returned: between the drain's end and its cleanup.
    queueMicrotask(() => walker.add('second'));
  });
  walker.add('first');
  await idle();
  assert.deepEqual(hinted, ['first/only', 'second/file']);
  assert.equal(walker.busy, false);
});

test('a directory that is gone or cannot be listed does not stop the ones after it', async () => {
  const tree = new MemorySourceTree();
  tree.mkdir('here');
  tree.writeFile('here/file', 'z');
  const { walker, hinted, idle } = walkerOver(tree);
  walker.add('gone');
  walker.add('here', Promise.reject(new Error('the watch failed')));
  await idle();
  assert.deepEqual(hinted, ['here/file']);
});
