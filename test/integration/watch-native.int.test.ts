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
    await waitFor(`${backend}: a hint for each of the ${FILES} files`, () => {
      for (const hint of seen.hints.splice(0)) if (hint.path.startsWith('burst/')) names.add(hint.path);
      return names.size >= FILES ? true : undefined;
    }, 60_000, 100);
    assert.equal(names.size, FILES);
    assert.deepEqual(seen.overflows, [], 'no overflow');
    assert.equal(watcher.status().overflows, 0);
  });
}

test('the native directory scan lists what readdir + lstat list, as the reconcile compares them', async (t) => {
  const { createNativeScan } = await import('../../services/producer/adapters/native-scan.ts');
  const { loadWatchNative } = await import('../../services/shared/native/watch.ts');
  const { listDir, probe, readLinkTarget } = await import('../../services/producer/adapters/source-fs.ts');
  const dir = fs.realpathSync(tempDir(t, 'scan'));
  fs.writeFileSync(path.join(dir, 'file.html'), 'x'.repeat(1234));
  fs.chmodSync(path.join(dir, 'file.html'), 0o640);
  fs.mkdirSync(path.join(dir, 'sub'), { mode: 0o750 });
  fs.symlinkSync('file.html', path.join(dir, 'link'));
  fs.writeFileSync(path.join(dir, 'été ✓'), '');
  fs.writeFileSync(path.join(dir, Buffer.from([0x62, 0xff, 0x61]).toString('latin1')), ''); // valid: 'bÿa'
  fs.writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), Buffer.from([0x62, 0xff])]), ''); // not UTF-8
  const scanned = createNativeScan(loadWatchNative())(dir);
  const expected = listDir(dir)!.entries.map(({ name, kind }) => {
    const found = probe(path.join(dir, name));
    if (found.kind === 'file') return { name, kind: 'file', mode: found.mode, fingerprint: found.fingerprint };
    if (found.kind === 'dir') return { name, kind: 'dir', mode: found.mode };
    return kind === 'symlink' ? { name, kind, target: readLinkTarget(path.join(dir, name)) } : { name, kind };
  });
  const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : 1);
  assert.deepEqual(scanned?.sort(byName), expected.sort(byName));
  assert.equal(scanned?.length, 5, 'the name that is not UTF-8 is left out, as listDir leaves it out');
  assert.equal(createNativeScan(loadWatchNative())(path.join(dir, 'file.html')), undefined, 'not a directory');
});
