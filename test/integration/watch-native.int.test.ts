// The native watcher against the real kernel, without the stack: each backend reports
// every file a burst creates, even while the JavaScript thread is blocked (the addon's
// reader thread drains the kernel queue meanwhile, so it does not overflow).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { openSourceWatcher } from '../../services/producer/watch/open-watcher.ts';
import { recordingDeps } from '../helpers/fake-watch-native.ts';
import { tempDir } from '../helpers/producer.ts';
import { waitFor } from '../helpers/stack.ts';

const FILES = 30_000; // ~90k events (create, modify, close): far beyond inotify's default queue of 16,384

function writeFiles(dir: string): Promise<void> {
  const code = `const fs = require('node:fs'); for (let i = 0; i < ${FILES}; i++) fs.writeFileSync('f' + i, 'x');`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code], { cwd: dir, stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`writer exited ${code}`))));
  });
}

for (const backend of ['fanotify', 'inotify'] as const) {
  test(`${backend}: a burst written while the event loop is blocked is reported whole, without overflow`, async (t) => {
    const root = fs.realpathSync(tempDir(t, `watch-native-${backend}`));
    fs.mkdirSync(path.join(root, 'burst'));
    const { deps, seen } = recordingDeps(root);
    // An explicit backend that cannot run here throws, with the reason: the test fails loudly.
    const { watcher } = openSourceWatcher(backend, deps);
    t.after(() => watcher.stop());
    await watcher.start();
    watcher.beforeListing('');
    watcher.beforeListing('burst');
    const written = writeFiles(path.join(root, 'burst'));
    // Block the loop while the writer runs: only the reader thread reads meanwhile.
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      /* busy */
    }
    await written;
    const names = new Set<string>();
    await waitFor(
      `${backend}: a hint for each of the ${FILES} files`,
      () => {
        for (const hint of seen.hints.splice(0)) if (hint.path.startsWith('burst/')) names.add(hint.path);
        return names.size >= FILES ? true : undefined;
      },
      60_000,
      100,
    );
    assert.equal(names.size, FILES);
    assert.deepEqual(seen.overflows, [], 'no overflow');
    assert.equal(watcher.status().overflows, 0);
  });
}
