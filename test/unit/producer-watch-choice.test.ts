// Which backend `--watcher` runs and why; the directory tree the kernel watchers share;
// the mount points that keep a fanotify filesystem mark from covering a root.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CliError } from '../../services/shared/errors.ts';
import { DirectoryTree } from '../../services/producer/watch/directory-tree.ts';
import { mountPointsBelow } from '../../services/producer/watch/mounts.ts';
import { openSourceWatcher } from '../../services/producer/watch/open-watcher.ts';
import { FakeWatchNative, recordingDeps } from '../helpers/fake-watch-native.ts';

const NO_FS = { openDirectory: () => 300, closeFd: () => undefined };

function fake(initError?: string) {
  const native = new FakeWatchNative();
  native.mkdir('/src');
  native.initError = () => initError;
  return native;
}

test('auto: fanotify when it can run, else inotify with the reason, else @parcel/watcher', async () => {
  const { deps } = recordingDeps('/src');
  const capable = openSourceWatcher('auto', deps, { native: () => fake(), mountPoints: () => [], ...NO_FS });
  assert.equal(capable.watcher.backend, 'fanotify');
  await capable.watcher.stop();

  const unprivileged = openSourceWatcher('auto', deps, {
    native: () => fake('EPERM'),
    mountPoints: () => [],
    ...NO_FS,
  });
  assert.equal(unprivileged.watcher.backend, 'inotify');
  assert.match(unprivileged.reason, /CAP_SYS_ADMIN/);

  const mounted = openSourceWatcher('auto', deps, { native: () => fake(), mountPoints: () => ['/src/data'], ...NO_FS });
  assert.equal(mounted.watcher.backend, 'inotify');
  assert.match(mounted.reason, /spans several filesystems/);

  const unbuilt = openSourceWatcher('auto', deps, {
    native: () => {
      throw new Error('the native watcher is not built (x)');
    },
    mountPoints: () => [],
    ...NO_FS,
  });
  assert.equal(unbuilt.watcher.backend, 'parcel');
  assert.match(unbuilt.reason, /not built/);
});

test('an explicit backend that cannot run is a final error naming why', () => {
  const { deps } = recordingDeps('/src');
  assert.throws(
    () => openSourceWatcher('fanotify', deps, { native: () => fake('EPERM'), mountPoints: () => [], ...NO_FS }),
    (error: Error) => error instanceof CliError && /--watcher fanotify cannot run: .*CAP_SYS_ADMIN/.test(error.message),
  );
  assert.equal(
    openSourceWatcher('inotify', deps, { native: () => fake('EPERM'), ...NO_FS }).watcher.backend,
    'inotify',
  );
  assert.equal(openSourceWatcher('parcel', deps).watcher.backend, 'parcel');
});

test('directory tree: paths follow renames, a replaced name drops the old subtree, detach returns every key', () => {
  const tree = new DirectoryTree<number>();
  const root = tree.setRoot(0);
  const a = tree.attach(1, root, 'a');
  const b = tree.attach(2, a, 'b');
  tree.attach(3, b, 'c');
  assert.equal(tree.pathOf(tree.get(3)!), 'a/b/c');
  tree.attach(1, root, 'z');
  assert.equal(tree.pathOf(tree.get(3)!), 'z/b/c');
  assert.equal(tree.at('a'), undefined);
  tree.attach(9, tree.get(1)!, 'b'); // another directory renamed over z/b
  assert.equal(tree.get(2), undefined);
  assert.equal(tree.get(3), undefined);
  assert.deepEqual(tree.detach(tree.get(1)!).sort(), [1, 9]);
  assert.equal(tree.size, 1);
  assert.equal(tree.attachAt('missing/parent', 5), undefined);
  const placeholder = tree.attachAt('p', -1)!;
  tree.attachAt('p/q', 6);
  tree.rekey(placeholder, 7);
  assert.equal(tree.pathOf(tree.get(6)!), 'p/q', 'rekeying keeps the children');
});

test('mount points strictly below the root, with mountinfo escapes decoded', () => {
  const mountinfo = [
    '22 27 0:21 / / rw - ext4 /dev/vda rw',
    '30 22 0:40 / /srv/www rw - ext4 /dev/vdb rw',
    '31 30 0:41 / /srv/www/media\\040files rw - xfs /dev/vdc rw',
    '32 22 0:42 / /srv/www2 rw - ext4 /dev/vdd rw',
  ].join('\n');
  assert.deepEqual(mountPointsBelow('/srv/www', mountinfo), ['/srv/www/media files']);
  assert.deepEqual(mountPointsBelow('/srv', mountinfo), ['/srv/www', '/srv/www/media files', '/srv/www2']);
});
