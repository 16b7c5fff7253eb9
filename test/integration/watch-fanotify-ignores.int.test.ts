// fanotify against the real kernel: a busy directory outside the root (on the root's
// filesystem) gets an ignore mark, so its events are no longer even read; moved into the
// root, it and its subdirectories are reported again at once.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { FanotifyWatcher } from '../../services/producer/watch/fanotify-watcher.ts';
import { handleKey } from '../../services/producer/watch/fanotify-events.ts';
import { openSourceWatcher } from '../../services/producer/watch/open-watcher.ts';
import { loadWatchNative } from '../../services/shared/native/watch.ts';
import { recordingDeps } from '../helpers/fake-watch-native.ts';
import { tempDir } from '../helpers/producer.ts';
import { waitFor } from '../helpers/stack.ts';

const OUTSIDE_FILES = 2_000;

test('fanotify: the kernel drops what a directory outside the root does, until it moves in', async (t) => {
  const base = fs.realpathSync(tempDir(t, 'watch-fanotify-ignores'));
  const root = path.join(base, 'src');
  const busy = path.join(base, 'outside', 'busy');
  fs.mkdirSync(root);
  fs.mkdirSync(path.join(busy, 'sub'), { recursive: true });
  const { deps, seen } = recordingDeps(root);
  const native = loadWatchNative();
  // An explicit backend that cannot run here throws, with the reason: the test fails loudly.
  const { watcher } = openSourceWatcher('fanotify', deps);
  assert.ok(watcher instanceof FanotifyWatcher);
  t.after(() => watcher.stop());
  // Only the busy directories' events count: other tests and programs write on this filesystem too.
  const busyKeys = new Set(
    [busy, path.join(busy, 'sub')].map((dir) => handleKey(native.nameToHandle(Buffer.from(dir)))),
  );
  let busyEvents = 0;
  const consume = watcher.consume.bind(watcher);
  watcher.consume = (events) => {
    for (const { entry } of events) if (entry !== undefined && busyKeys.has(entry.dir)) busyEvents++;
    consume(events);
  };
  await watcher.start();
  watcher.beforeListing('');
  const reported = (wanted: string) =>
    waitFor(`a hint for ${wanted}`, () => (seen.hints.some(({ path: p }) => p === wanted) ? true : undefined), 10_000);

  fs.writeFileSync(path.join(busy, 'first'), 'x');
  fs.writeFileSync(path.join(busy, 'sub', 'first'), 'x');
  await waitFor('ignore marks on both outside directories', () => (watcher.ignoredDirectories >= 2 ? true : undefined));
  const before = busyEvents;
  for (let i = 0; i < OUTSIDE_FILES; i++) fs.writeFileSync(path.join(busy, i % 2 === 0 ? '' : 'sub', `f${i}`), 'x');
  fs.writeFileSync(path.join(root, 'sentinel'), 'x'); // once reported, everything before it was read
  await reported('sentinel');
  const outsideEvents = busyEvents - before;
  assert.ok(
    outsideEvents < OUTSIDE_FILES / 10,
    `${outsideEvents} events read for ${OUTSIDE_FILES} files written outside`,
  );

  fs.renameSync(busy, path.join(root, 'busy'));
  await reported('busy');
  fs.writeFileSync(path.join(root, 'busy', 'sub', 'after.txt'), 'x');
  fs.writeFileSync(path.join(root, 'busy', 'sub', 'f1'), 'rewritten');
  await reported('busy/sub/after.txt');
  await reported('busy/sub/f1'); // a rewrite of a file seen (and ignored) outside
});
