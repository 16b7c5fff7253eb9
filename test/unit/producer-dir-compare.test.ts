import assert from 'node:assert/strict';
import { test } from 'node:test';
import { inotifyWarnings } from '../../services/producer/adapters/inotify-limits.ts';
import { compareDirectory, isExactMatch, type IndexedChild } from '../../services/producer/domain/dir-compare.ts';
import { createExcluder } from '../../services/producer/domain/exclude.ts';

const fp = { ino: 1, size: 10, mtimeMs: 5000.25, ctimeMs: 5000.25 };
const indexedFile = (name: string, extra: Partial<IndexedChild> = {}): IndexedChild => ({
  name,
  kind: 'file',
  fingerprint: fp,
  size: 10,
  mtimeMs: 5000,
  mode: 0o644,
  ...extra,
});

test('names only: appeared, vanished and changed kind', () => {
  const result = compareDirectory(
    [
      indexedFile('same'),
      indexedFile('gone'),
      { name: 'd', kind: 'dir', fingerprint: undefined, mode: 0o755 },
      indexedFile('became-dir'),
    ],
    [
      { name: 'same', kind: 'file' },
      { name: 'new', kind: 'file' },
      { name: 'd', kind: 'dir' },
      { name: 'became-dir', kind: 'dir' },
      { name: 'fifo', kind: 'special' },
    ],
  );
  assert.deepEqual(result.changed.sort(), ['became-dir', 'gone', 'new']);
  assert.deepEqual(result.subdirs, ['d']);
});

test('with stats: changed fingerprints and modes, symlink targets', () => {
  const result = compareDirectory(
    [
      indexedFile('a'),
      indexedFile('b'),
      indexedFile('c'),
      { name: 'l', kind: 'symlink', fingerprint: undefined, target: 'x' },
      { name: 'd', kind: 'dir', fingerprint: undefined, mode: 0o755 },
    ],
    [
      { name: 'a', kind: 'file', mode: 0o644, fingerprint: fp },
      { name: 'b', kind: 'file', mode: 0o644, fingerprint: { ...fp, ctimeMs: 6000 } },
      { name: 'c', kind: 'file', mode: 0o600, fingerprint: fp },
      { name: 'l', kind: 'symlink', target: 'y' },
      { name: 'd', kind: 'dir', mode: 0o700 },
    ],
  );
  assert.deepEqual(result.changed.sort(), ['b', 'c', 'd', 'l']);
  assert.deepEqual(result.subdirs, ['d']);
  assert.deepEqual(result.adopt, []);
});

test('entries rebuilt without a fingerprint: quick check, and the fingerprint is adopted', () => {
  const rebuilt = (name: string) => indexedFile(name, { fingerprint: undefined });
  const result = compareDirectory(
    [rebuilt('same'), rebuilt('grew')],
    [
      { name: 'same', kind: 'file', mode: 0o644, fingerprint: fp },
      { name: 'grew', kind: 'file', mode: 0o644, fingerprint: { ...fp, size: 11 } },
    ],
  );
  assert.deepEqual(result.changed, ['grew']);
  assert.deepEqual(result.adopt, [{ name: 'same', fingerprint: fp }]);
});

test('excludes match a path or any of its ancestors', () => {
  const excluded = createExcluder(['**/.cache', 'tmp', '*.swp', '/root-only']);
  assert.equal(excluded('tmp'), true);
  assert.equal(excluded('tmp/x/y'), true);
  assert.equal(excluded('a/.cache/b'), true);
  assert.equal(excluded('notes.swp'), true);
  assert.equal(excluded('a/tmp'), true, 'a name without a slash matches at any depth (gitignore)');
  assert.equal(excluded('root-only/x'), true);
  assert.equal(excluded('a/root-only'), false, 'a leading slash anchors');
  assert.equal(excluded('a/b.txt'), false);
  assert.equal(createExcluder([])('anything'), false);
});

test('inotify warnings name the sysctl to raise', () => {
  assert.deepEqual(inotifyWarnings({ maxUserWatches: 1_000_000, maxQueuedEvents: 1_000_000 }, 10_000), []);
  const warnings = inotifyWarnings({ maxUserWatches: 8192, maxQueuedEvents: 16384 }, 100_000);
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /sysctl -w fs.inotify.max_user_watches=126024/);
  assert.match(warnings[1]!, /sysctl -w fs.inotify.max_queued_events=/);
  assert.deepEqual(inotifyWarnings({ maxUserWatches: undefined, maxQueuedEvents: undefined }, 5), []);
});

test('an owner that differs from the index (a chown, or an index from before owners) is a change', () => {
  const www = { uid: 33, gid: 33 };
  const result = compareDirectory(
    [
      indexedFile('chowned', { owner: { uid: 0, gid: 0 } }),
      indexedFile('unowned-in-index'),
      indexedFile('same', { owner: www }),
      { name: 'd', kind: 'dir', fingerprint: undefined, mode: 0o755, owner: { uid: 0, gid: 0 } },
      { name: 'l', kind: 'symlink', fingerprint: undefined, target: 't', owner: www },
    ],
    [
      { name: 'chowned', kind: 'file', mode: 0o644, fingerprint: fp, mtimeMs: 5000, owner: www },
      { name: 'unowned-in-index', kind: 'file', mode: 0o644, fingerprint: fp, mtimeMs: 5000, owner: www },
      { name: 'same', kind: 'file', mode: 0o644, fingerprint: fp, mtimeMs: 5000, owner: { ...www, user: 'x' } },
      { name: 'd', kind: 'dir', mode: 0o755, owner: www },
      { name: 'l', kind: 'symlink', target: 't', owner: { uid: 1, gid: 33 } },
    ],
  );
  assert.deepEqual(result.changed.sort(), ['chowned', 'd', 'l', 'unowned-in-index']);
  assert.deepEqual(result.subdirs, ['d'], 'a chowned directory is still descended into');
});

test("a directory's or symlink's own mtime that differs from the index is a change", () => {
  const result = compareDirectory(
    [
      { name: 'd', kind: 'dir', fingerprint: undefined, mode: 0o755, mtimeMs: 1 },
      { name: 'same', kind: 'dir', fingerprint: undefined, mode: 0o755, mtimeMs: 2 },
      { name: 'l', kind: 'symlink', fingerprint: undefined, target: 't', mtimeMs: 3 },
    ],
    [
      { name: 'd', kind: 'dir', mode: 0o755, mtimeMs: 9 },
      { name: 'same', kind: 'dir', mode: 0o755, mtimeMs: 2 },
      { name: 'l', kind: 'symlink', target: 't', mtimeMs: 4 },
    ],
  );
  assert.deepEqual(result.changed.sort(), ['d', 'l']);
  assert.deepEqual(result.subdirs.sort(), ['d', 'same']);
});

test('the start-up walk defers owners and own mtimes the index never held (an index from before format 2)', () => {
  const legacy: IndexedChild[] = [
    indexedFile('old-file'),
    { name: 'old-dir', kind: 'dir', fingerprint: undefined, mode: 0o755 },
    { name: 'old-link', kind: 'symlink', fingerprint: undefined, target: 't' },
    indexedFile('chowned', { owner: { uid: 0, gid: 0 } }),
  ];
  const www = { uid: 33, gid: 33 };
  const listed = [
    { name: 'old-file', kind: 'file' as const, mode: 0o644, fingerprint: fp, mtimeMs: 5000, owner: www },
    { name: 'old-dir', kind: 'dir' as const, mode: 0o755, mtimeMs: 9, owner: www },
    { name: 'old-link', kind: 'symlink' as const, target: 't', mtimeMs: 9, owner: www },
    { name: 'chowned', kind: 'file' as const, mode: 0o644, fingerprint: fp, mtimeMs: 5000, owner: www },
  ];
  const deferring = compareDirectory(legacy, listed, 'inode', 'defer');
  assert.deepEqual(deferring.changed, ['chowned']);
  assert.equal(deferring.deferred, true, 'what was let go is noted: the sides are not the same');
  assert.equal(isExactMatch(compareDirectory(legacy.slice(0, 1), listed.slice(0, 1), 'inode', 'defer')), false);
  assert.deepEqual(compareDirectory(legacy, listed, 'inode', 'compare').changed.sort(), [
    'chowned',
    'old-dir',
    'old-file',
    'old-link',
  ]);
});

test('attributes that differ from the index are a change; the start-up walk defers those it never held', () => {
  const xattrs = { 'user.a': 'eA==' };
  const indexed: IndexedChild[] = [
    indexedFile('same', { attributes: { xattrs } }),
    indexedFile('changed', { attributes: { xattrs } }),
    indexedFile('acl-added', { attributes: { xattrs, acl: {} } }),
    indexedFile('never-held'),
    { name: 'd', kind: 'dir', fingerprint: undefined, mode: 0o755, attributes: { xattrs: {} } },
    indexedFile('not-read', { attributes: { xattrs } }),
  ];
  const file = (name: string, attributes?: IndexedChild['attributes']) => ({
    name,
    kind: 'file' as const,
    mode: 0o644,
    fingerprint: fp,
    mtimeMs: 5000,
    ...(attributes === undefined ? {} : { attributes }),
  });
  const listed = [
    file('same', { xattrs: { ...xattrs } }),
    file('changed', { xattrs: { 'user.a': 'eQ==' } }),
    file('acl-added', { xattrs, acl: { access: 'AgAAAA==' } }),
    file('never-held', { xattrs: {} }),
    { name: 'd', kind: 'dir' as const, mode: 0o755, attributes: { xattrs } },
    file('not-read'),
  ];
  const live = compareDirectory(indexed, listed);
  assert.deepEqual(live.changed.sort(), ['acl-added', 'changed', 'd', 'never-held']);
  assert.deepEqual(live.subdirs, ['d'], 'a directory whose attributes changed is still descended into');
  assert.deepEqual(compareDirectory(indexed, listed, 'inode', 'defer').changed.sort(), ['acl-added', 'changed', 'd']);
});

test('an exact match: nothing to examine, adopt or defer', () => {
  const listedFile = (name: string) => ({ name, kind: 'file' as const, mode: 0o644, fingerprint: fp, mtimeMs: 5000 });
  const same = compareDirectory([indexedFile('a'), indexedFile('b')], [listedFile('a'), listedFile('b')]);
  assert.equal(isExactMatch(same), true);
  assert.equal(isExactMatch(compareDirectory([indexedFile('a')], [listedFile('a'), listedFile('b')])), false);
  assert.equal(isExactMatch(compareDirectory([indexedFile('a'), indexedFile('b')], [listedFile('a')])), false);
  const rebuilt = compareDirectory([indexedFile('a', { fingerprint: undefined })], [listedFile('a')]);
  assert.deepEqual([rebuilt.changed, rebuilt.adopt.length], [[], 1]);
  assert.equal(isExactMatch(rebuilt), false, 'a fingerprint to record is not a match yet');
});
