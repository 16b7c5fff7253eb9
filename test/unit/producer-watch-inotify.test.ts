// mirrorlog's inotify backend, without a kernel: watches placed by the walk before each
// listing, new directories watched as their event is read, renames paired by cookie,
// moved-out directories unwatched, overflow reported, the watch limit counted, logged
// with its sysctl and covered by a timed check.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IN, parseInotifyEvents, type InotifyEvent } from '../../services/producer/watch/inotify-events.ts';
import { InotifyWatcher } from '../../services/producer/watch/inotify-watcher.ts';
import { FakeWatchNative, hintLines, recordingDeps } from '../helpers/fake-watch-native.ts';

const ROOT = '/src';

function setup(listing: Record<string, string[]> = {}) {
  const native = new FakeWatchNative();
  native.mkdir(ROOT);
  const { deps, seen } = recordingDeps(ROOT);
  const watcher = InotifyWatcher.open(deps, {
    native,
    closeFd: () => undefined,
    listNames: (dir) => listing[dir],
    maxUserWatches: () => 3,
  });
  return { native, seen, watcher };
}

const ev = (wd: number, mask: number, name = '', cookie = 0): InotifyEvent => ({ wd, mask, cookie, name });

function walk(watcher: InotifyWatcher, ...dirs: string[]): void {
  for (const dir of ['', ...dirs]) watcher.beforeListing(dir);
}

test('the walk watches each directory before it lists it; events carry root-relative paths', () => {
  const { native, seen, watcher } = setup();
  native.mkdir('/src/a');
  native.mkdir('/src/a/b');
  walk(watcher, 'a', 'a/b');
  assert.deepEqual(native.calls, ['addWatch /src', 'addWatch /src/a', 'addWatch /src/a/b']);
  watcher.consume([ev(native.wd('/src/a/b'), IN.CLOSE_WRITE, 'f.html'), ev(native.wd('/src'), IN.DELETE, 'old.txt')]);
  assert.deepEqual(hintLines(seen.hints), ['a/b/f.html update', 'old.txt delete']);
  assert.equal(watcher.status().watched, 3);
});

test('a new directory is watched as soon as its create event is read, before it is listed', () => {
  const { native, seen, watcher } = setup();
  walk(watcher);
  native.mkdir('/src/n');
  native.calls.length = 0;
  watcher.consume([ev(native.wd('/src'), IN.CREATE | IN.ISDIR, 'n')]);
  assert.deepEqual(native.calls, ['addWatch /src/n']);
  native.mkdir('/src/n/m');
  watcher.beforeListing('n/m'); // what the examiner does when it lists n and finds m
  watcher.consume([ev(native.wd('/src/n/m'), IN.CREATE, 'f.txt')]);
  assert.deepEqual(hintLines(seen.hints), ['n create', 'n/m/f.txt create']);
});

test('a rename is paired by cookie, also across two reads: later events carry the new path', () => {
  const { native, seen, watcher } = setup();
  native.mkdir('/src/a');
  native.mkdir('/src/a/b');
  walk(watcher, 'a', 'a/b');
  const inner = native.wd('/src/a/b');
  native.rename('/src/a', '/src/c');
  watcher.consume([ev(native.wd('/src'), IN.MOVED_FROM | IN.ISDIR, 'a', 7)]);
  watcher.consume([ev(native.wd('/src'), IN.MOVED_TO | IN.ISDIR, 'c', 7), ev(inner, IN.MODIFY, 'x')]);
  assert.deepEqual(hintLines(seen.hints), ['a delete', 'c create', 'c/b/x update']);
  assert.ok(!native.calls.some((c) => c.startsWith('rmWatch')), 'the watches stay');
});

test('a directory moved out of the tree loses its watches (one read later); one moved in is watched', () => {
  const { native, seen, watcher } = setup();
  native.mkdir('/src/out');
  native.mkdir('/src/out/deep');
  walk(watcher, 'out', 'out/deep');
  const deep = native.wd('/src/out/deep');
  watcher.consume([ev(native.wd('/src'), IN.MOVED_FROM | IN.ISDIR, 'out', 9)]);
  watcher.consume([ev(deep, IN.MODIFY, 'still-seen-once')]);
  assert.ok(native.calls.includes(`rmWatch ${deep}`), 'its watches are removed');
  watcher.consume([ev(deep, IN.MODIFY, 'after')]);
  assert.deepEqual(hintLines(seen.hints), ['out delete', 'out/deep/still-seen-once update']);

  native.mkdir('/src/in');
  native.calls.length = 0;
  watcher.consume([ev(native.wd('/src'), IN.MOVED_TO | IN.ISDIR, 'in', 11)]);
  assert.deepEqual(native.calls, ['addWatch /src/in']);
});

test('queue overflow is reported for a reconcile and counted', () => {
  const { seen, watcher } = setup();
  walk(watcher);
  watcher.consume([ev(-1, IN.Q_OVERFLOW)]);
  assert.equal(seen.overflows.length, 1);
  assert.equal(watcher.status().overflows, 1);
});

test('the watch limit: counted, logged once with the sysctl, checked on a timer, watched once the limit allows', () => {
  const { native, seen, watcher } = setup({ full: ['x.html', 'y.html'], 'full/sub': ['z'] });
  native.watchLimit = 1;
  native.mkdir('/src/full');
  native.mkdir('/src/full/sub');
  walk(watcher, 'full', 'full/sub');
  assert.deepEqual(watcher.status(), { watched: 1, unwatched: 2, overflows: 0 });
  assert.equal(seen.warnings.length, 1);
  assert.match(seen.warnings[0]!, /sysctl -w fs\.inotify\.max_user_watches=\d+/);
  watcher.checkUnwatched();
  assert.deepEqual(hintLines(seen.hints), [
    'full update',
    'full/x.html update',
    'full/y.html update',
    'full/sub update',
    'full/sub/z update',
  ]);
  native.watchLimit = 10;
  watcher.checkUnwatched();
  assert.deepEqual(watcher.status(), { watched: 3, unwatched: 0, overflows: 0 });
  seen.hints.length = 0;
  watcher.consume([ev(native.wd('/src/full/sub'), IN.CREATE, 'new')]);
  assert.deepEqual(
    hintLines(seen.hints),
    ['full/sub/new create'],
    'the tree stayed connected through the unwatched directory',
  );
});

test('a deleted directory (IN_DELETE, IN_IGNORED) is forgotten', () => {
  const { native, seen, watcher } = setup();
  native.mkdir('/src/d');
  walk(watcher, 'd');
  const wd = native.wd('/src/d');
  watcher.consume([ev(native.wd('/src'), IN.DELETE | IN.ISDIR, 'd'), ev(wd, IN.IGNORED), ev(wd, IN.MODIFY, 'late')]);
  assert.deepEqual(hintLines(seen.hints), ['d delete']);
  assert.equal(watcher.status().watched, 1);
});

test('the parser reads struct inotify_event records with NUL-padded names, bytes that are not UTF-8 escaped', () => {
  const record = (wd: number, mask: number, cookie: number, name: string | Buffer) => {
    const bytes = Buffer.from(name);
    const padded = bytes.length === 0 ? 0 : Math.ceil((bytes.length + 1) / 16) * 16;
    const buffer = Buffer.alloc(16 + padded);
    buffer.writeInt32LE(wd, 0);
    buffer.writeUInt32LE(mask, 4);
    buffer.writeUInt32LE(cookie, 8);
    buffer.writeUInt32LE(padded, 12);
    bytes.copy(buffer, 16);
    return buffer;
  };
  const events = parseInotifyEvents(
    Buffer.concat([
      record(1, IN.CREATE | IN.ISDIR, 0, 'été'),
      record(-1, IN.Q_OVERFLOW, 0, ''),
      record(2, IN.MOVED_TO, 42, 'x'.repeat(20)),
      record(3, IN.CLOSE_WRITE, 0, Buffer.from('caf\xe9', 'latin1')),
    ]),
  );
  assert.deepEqual(events, [
    { wd: 1, mask: IN.CREATE | IN.ISDIR, cookie: 0, name: 'été' },
    { wd: -1, mask: IN.Q_OVERFLOW, cookie: 0, name: '' },
    { wd: 2, mask: IN.MOVED_TO, cookie: 42, name: 'x'.repeat(20) },
    { wd: 3, mask: IN.CLOSE_WRITE, cookie: 0, name: 'caf\uEFE9' }, // not UTF-8: escaped, never mangled
  ]);
});
