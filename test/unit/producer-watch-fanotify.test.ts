// The fanotify backend's policy, without a kernel: what it reports for the event stream
// of a filesystem mark, how it keeps directory handles mapped to paths across renames,
// deletes and moves across the root's border, and when it refuses to run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FAN, parseFanotifyEvents, type FanotifyEvent } from '../../services/producer/watch/fanotify-events.ts';
import { FanotifyWatcher } from '../../services/producer/watch/fanotify-watcher.ts';
import { WatcherUnavailableError } from '../../services/producer/watch/watcher-unavailable.ts';
import { FakeWatchNative, hintLines, recordingDeps } from '../helpers/fake-watch-native.ts';

const ROOT = '/src';

function setup(options: { isExcluded?: (rel: string) => boolean; mountPoints?: string[] } = {}) {
  const native = new FakeWatchNative();
  native.mkdir(ROOT);
  native.mkdir('/elsewhere');
  const { deps, seen } = recordingDeps(ROOT, options.isExcluded);
  const open = () =>
    FanotifyWatcher.open(deps, {
      native,
      mountPoints: options.mountPoints ?? [],
      openDirectory: () => 300,
      closeFd: () => undefined,
    });
  return { native, seen, open };
}

const dirent = (mask: number, dir: string, name: string, object?: string): FanotifyEvent => ({
  mask,
  entry: { dir, name },
  ...(object === undefined ? {} : { object }),
});

test('a change in a directory the walk registered is reported by path, without asking the kernel', () => {
  const { native, seen, open } = setup();
  native.mkdir('/src/a');
  native.mkdir('/src/a/b');
  const watcher = open();
  watcher.beforeListing('');
  watcher.beforeListing('a');
  watcher.beforeListing('a/b');
  native.calls.length = 0;
  watcher.consume([
    dirent(FAN.MODIFY, native.key('/src/a/b'), 'page.html'),
    dirent(FAN.CREATE, native.key('/src'), 'top.txt'),
  ]);
  assert.deepEqual(hintLines(seen.hints), ['a/b/page.html update', 'top.txt create']);
  assert.deepEqual(native.calls, [], 'no open_by_handle_at for known directories');
});

test('events outside the root are dropped; each outside directory is looked up once', () => {
  const { native, seen, open } = setup();
  const watcher = open();
  native.calls.length = 0;
  watcher.consume([
    dirent(FAN.MODIFY, native.key('/elsewhere'), 'x'),
    dirent(FAN.MODIFY, native.key('/elsewhere'), 'y'),
  ]);
  assert.deepEqual(seen.hints, []);
  assert.equal(native.calls.filter((c) => c.startsWith('openByHandle')).length, 1);
});

test('the kernel is told to drop what happens in an outside directory, never in an ancestor of the root', () => {
  const { native, open } = setup();
  native.mkdir('/');
  native.mkdir('/elsewhere/busy');
  const watcher = open();
  watcher.consume([
    dirent(FAN.MODIFY, native.key('/elsewhere/busy'), 'x'),
    dirent(FAN.CREATE, native.key('/'), 'tmpfile'),
    dirent(FAN.MODIFY, native.key('/elsewhere/busy'), 'y'),
  ]);
  assert.deepEqual(native.ignored, [native.dirs.get('/elsewhere/busy')], 'one ignore mark, not on "/"');
  const call = native.calls.find((c) => c.startsWith('fanotifyIgnore'))!;
  const [, , flags, mask] = call.split(' ');
  assert.equal(Number.parseInt(flags!, 16), FAN.MARK_ADD | FAN.MARK_IGNORE | FAN.MARK_IGNORED_SURV_MODIFY);
  const ignoredMask = Number.parseInt(mask!, 16);
  assert.equal(ignoredMask & (FAN.MOVED_FROM | FAN.MOVED_TO | FAN.RENAME), 0, 'moves stay reported');
  assert.ok(ignoredMask & FAN.EVENT_ON_CHILD && ignoredMask & FAN.CLOSE_WRITE && ignoredMask & FAN.CREATE);
  assert.equal(watcher.ignoredDirectories, 1);
});

test('a directory moved in from outside removes every ignore mark before anything below it is listed', () => {
  const { native, seen, open } = setup();
  native.mkdir('/elsewhere/job');
  const watcher = open();
  watcher.beforeListing('');
  watcher.consume([dirent(FAN.CLOSE_WRITE, native.key('/elsewhere/job'), 'staged.jpg')]);
  assert.equal(native.ignored.length, 1);
  native.rename('/elsewhere/job', '/src/job');
  watcher.consume([dirent(FAN.MOVED_TO | FAN.ONDIR, native.key('/src'), 'job', native.key('/src/job'))]);
  assert.deepEqual(native.ignored, [], 'flushed');
  assert.equal(native.calls.at(-1), 'fanotifyFlushInodeMarks');
  assert.deepEqual(hintLines(seen.hints), ['job create']);
});

test('a kernel without FAN_MARK_IGNORE: outside events are dropped here, and it is asked once only', () => {
  const { native, seen, open } = setup();
  native.mkdir('/elsewhere/a');
  native.mkdir('/elsewhere/b');
  native.ignoreError = 'EINVAL';
  const watcher = open();
  watcher.consume([
    dirent(FAN.MODIFY, native.key('/elsewhere/a'), 'x'),
    dirent(FAN.MODIFY, native.key('/elsewhere/b'), 'y'),
  ]);
  assert.equal(native.calls.filter((c) => c.startsWith('fanotifyIgnore')).length, 1);
  assert.deepEqual(seen.hints, []);
  assert.equal(watcher.ignoredDirectories, 0);
});

test('mkdir -p and writes at once: each new directory is learnt from its own create event', () => {
  const { native, seen, open } = setup();
  const watcher = open();
  native.calls.length = 0;
  native.mkdir('/src/n');
  native.mkdir('/src/n/m');
  watcher.consume([
    dirent(FAN.CREATE | FAN.ONDIR, native.key('/src'), 'n', native.key('/src/n')),
    dirent(FAN.CREATE | FAN.ONDIR, native.key('/src/n'), 'm', native.key('/src/n/m')),
    dirent(FAN.CREATE, native.key('/src/n/m'), 'f.txt'),
    dirent(FAN.CLOSE_WRITE, native.key('/src/n/m'), 'f.txt'),
  ]);
  assert.deepEqual(hintLines(seen.hints), ['n create', 'n/m create', 'n/m/f.txt create', 'n/m/f.txt update']);
  assert.deepEqual(native.calls, [], 'the handles came with the events');
});

test('after a directory rename (FAN_RENAME), later events below it carry the new path', () => {
  const { native, seen, open } = setup();
  native.mkdir('/src/a');
  native.mkdir('/src/a/b');
  const watcher = open();
  for (const dir of ['', 'a', 'a/b']) watcher.beforeListing(dir);
  const inner = native.key('/src/a/b');
  native.rename('/src/a', '/src/c');
  watcher.consume([
    {
      mask: FAN.RENAME | FAN.ONDIR,
      from: { dir: native.key('/src'), name: 'a' },
      to: { dir: native.key('/src'), name: 'c' },
      object: native.key('/src/c'),
    },
    dirent(FAN.MODIFY, inner, 'x'),
  ]);
  assert.deepEqual(hintLines(seen.hints), ['a delete', 'c create', 'c/b/x update']);
});

test('without FAN_RENAME, a moved directory is placed by its MOVED_TO (which carries its handle)', () => {
  const { native, seen, open } = setup();
  native.mkdir('/src/a');
  native.mkdir('/src/a/b');
  const watcher = open();
  for (const dir of ['', 'a', 'a/b']) watcher.beforeListing(dir);
  const moved = native.key('/src/a');
  native.calls.length = 0;
  watcher.consume([
    dirent(FAN.MOVED_FROM | FAN.ONDIR, native.key('/src'), 'a', moved),
    dirent(FAN.MOVED_TO | FAN.ONDIR, native.key('/src'), 'z', moved),
    dirent(FAN.MODIFY, native.key('/src/a/b'), 'x'),
  ]);
  assert.deepEqual(hintLines(seen.hints), ['a delete', 'z create', 'z/b/x update']);
  assert.deepEqual(native.calls, []);
});

test('a deleted directory is forgotten: a later event naming its handle is not reported under the old path', () => {
  const { native, seen, open } = setup();
  native.mkdir('/src/gone');
  const watcher = open();
  watcher.beforeListing('');
  watcher.beforeListing('gone');
  const key = native.key('/src/gone');
  native.rmdir('/src/gone');
  watcher.consume([dirent(FAN.DELETE | FAN.ONDIR, native.key('/src'), 'gone', key), dirent(FAN.MODIFY, key, 'late')]);
  assert.deepEqual(hintLines(seen.hints), ['gone delete']);
  assert.ok(watcher.status().watched === 1, 'only the root is still known');
});

test('a directory moved in from outside: its subdirectories, once seen outside, resolve inside', () => {
  const { native, seen, open } = setup();
  native.mkdir('/elsewhere/job');
  native.mkdir('/elsewhere/job/images');
  const watcher = open();
  watcher.beforeListing('');
  watcher.consume([dirent(FAN.MODIFY, native.key('/elsewhere/job/images'), 'staged.jpg')]);
  assert.deepEqual(seen.hints, [], 'outside the root while staged');
  native.rename('/elsewhere/job', '/src/job');
  watcher.consume([
    {
      mask: FAN.RENAME | FAN.ONDIR,
      from: { dir: native.key('/elsewhere'), name: 'job' },
      to: { dir: native.key('/src'), name: 'job' },
      object: native.key('/src/job'),
    },
    dirent(FAN.CREATE, native.key('/src/job/images'), 'new.jpg'),
  ]);
  assert.deepEqual(hintLines(seen.hints), ['job create', 'job/images/new.jpg create']);
});

test('a directory moved out of the root stops being reported', () => {
  const { native, seen, open } = setup();
  native.mkdir('/src/out');
  const watcher = open();
  watcher.beforeListing('');
  watcher.beforeListing('out');
  const key = native.key('/src/out');
  native.rename('/src/out', '/elsewhere/out');
  watcher.consume([
    {
      mask: FAN.RENAME | FAN.ONDIR,
      from: { dir: native.key('/src'), name: 'out' },
      to: { dir: native.key('/elsewhere'), name: 'out' },
      object: key,
    },
    dirent(FAN.MODIFY, key, 'after'),
  ]);
  assert.deepEqual(hintLines(seen.hints), ['out delete']);
});

test('queue overflow is reported for a reconcile and counted', () => {
  const { seen, open } = setup();
  const watcher = open();
  watcher.consume([{ mask: FAN.Q_OVERFLOW }]);
  assert.equal(seen.overflows.length, 1);
  assert.equal(watcher.status().overflows, 1);
});

test('an event on a directory itself (name ".") reports that directory; excluded trees report nothing', () => {
  const { native, seen, open } = setup({ isExcluded: (rel) => rel === 'cache' || rel.startsWith('cache/') });
  native.mkdir('/src/d');
  native.mkdir('/src/cache');
  const watcher = open();
  for (const dir of ['', 'd', 'cache']) watcher.beforeListing(dir);
  watcher.consume([
    dirent(FAN.ATTRIB | FAN.ONDIR, native.key('/src/d'), '.'),
    dirent(FAN.MODIFY, native.key('/src/cache'), 'tmp'),
    dirent(FAN.CREATE, native.key('/src'), 'cache'),
  ]);
  assert.deepEqual(hintLines(seen.hints), ['d update']);
});

test('refuses to run, with the reason: no capability, old kernel, several filesystems, no handles', () => {
  const noCap = setup();
  noCap.native.initError = () => 'EPERM';
  assert.throws(noCap.open, (e: Error) => e instanceof WatcherUnavailableError && /CAP_SYS_ADMIN/.test(e.message));

  const oldKernel = setup();
  oldKernel.native.initError = () => 'EINVAL';
  assert.throws(oldKernel.open, /Linux 5\.9/);

  const mounts = setup({ mountPoints: ['/src/mnt/usb'] });
  assert.throws(mounts.open, /spans several filesystems.*\/src\/mnt\/usb/);
  const excludedMount = setup({ mountPoints: ['/src/mnt'], isExcluded: (rel) => rel === 'mnt' });
  assert.ok(excludedMount.open() instanceof FanotifyWatcher, 'an excluded mount point is no obstacle');

  const noDacRead = setup();
  noDacRead.native.openByHandleError = 'EPERM';
  assert.throws(noDacRead.open, /CAP_DAC_READ_SEARCH/);
});

test('older kernels: without FAN_REPORT_TARGET_FID (5.9-5.16) and without FAN_RENAME the mark still goes on', () => {
  const { native, open } = setup();
  native.initError = (flags) => (flags & FAN.REPORT_TARGET_FID ? 'EINVAL' : undefined);
  const watcher = open();
  assert.deepEqual(watcher.features, { targetFid: false, rename: false });
  const expectedMask =
    FAN.CREATE | FAN.DELETE | FAN.MODIFY | FAN.ATTRIB | FAN.CLOSE_WRITE | FAN.ONDIR | FAN.MOVED_FROM | FAN.MOVED_TO;
  assert.ok(native.calls.some((c) => c === `fanotifyMark ${expectedMask.toString(16)}`));

  const renameless = setup();
  renameless.native.markError = (mask) => (mask & FAN.RENAME ? 'EINVAL' : undefined);
  assert.deepEqual(renameless.open().features, { targetFid: true, rename: false });
});

test(
  'the parser reads what Linux 6.18 wrote: mkdir (DFID_NAME + FID), ' +
    'rename (OLD/NEW_DFID_NAME + FID), chmod of a dir (".")',
  () => {
    // Captured from a FAN_REPORT_FID | FAN_REPORT_DFID_NAME | FAN_REPORT_TARGET_FID group on this machine.
    const bytes = Buffer.from(
      '5c000000030018000001004000000000ffffffff0048000002002800e251ddb5cff274150800000001000000a3c4' +
        '03000000000078782d66616e2d746573740001001c00e251ddb5cff2741508000000010000002a299c0020887643' +
        '84000000030018000000005000000000ffffffff004800000a002800e251ddb5cff274150800000001000000' +
        'a3c403000000000078782d66616e2d74657374000c002800e251ddb5cff274150800000001000000a3c40300' +
        '0000000078782d66616e2d743200000001001c00e251ddb5cff2741508000000010000002a299c0020887643' +
        '38000000030018000400004000000000ffffffff0048000002002000' +
        'e251ddb5cff2741508000000010000002a299c00208876432e000000',
      'hex',
    );
    const events = parseFanotifyEvents(bytes);
    assert.equal(events.length, 3);
    const [mkdir, rename, chmod] = events as [FanotifyEvent, FanotifyEvent, FanotifyEvent];
    assert.equal(mkdir.mask, FAN.CREATE | FAN.ONDIR);
    assert.equal(mkdir.entry?.name, 'xx-fan-test');
    assert.equal(rename.mask, FAN.RENAME | FAN.ONDIR);
    assert.equal(rename.from?.name, 'xx-fan-test');
    assert.equal(rename.to?.name, 'xx-fan-t2');
    assert.equal(rename.from?.dir, mkdir.entry?.dir, 'both in the same parent');
    assert.equal(rename.object, mkdir.object, 'the renamed directory is the created one');
    assert.equal(chmod.mask, FAN.ATTRIB | FAN.ONDIR);
    assert.deepEqual(chmod.entry, { dir: mkdir.object, name: '.' });
  },
);
