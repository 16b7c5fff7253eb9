import assert from 'node:assert/strict';
import { test } from 'node:test';
import { relPath } from '../../schemas/rel-path.ts';
import { parseRestoreTime, restoreTimeProblem } from '../../services/cli/restore-time.ts';
import { compareEntry, formatDrift } from '../../services/cli/verify-compare.ts';

const NOW = Date.UTC(2026, 10, 25, 12, 0, 0);
const DAY = 86_400_000;

test('restore times: ISO-8601 or relative to now; anything else refused', () => {
  assert.equal(parseRestoreTime('-2h', NOW), NOW - 2 * 3_600_000);
  assert.equal(parseRestoreTime('-7d', NOW), NOW - 7 * DAY);
  assert.equal(parseRestoreTime('-90s', NOW), NOW - 90_000);
  assert.equal(parseRestoreTime('2026-11-25T10:00:00Z', NOW), Date.UTC(2026, 10, 25, 10));
  assert.equal(parseRestoreTime('2026-11-25T10:00:00+02:00', NOW), Date.UTC(2026, 10, 25, 8));
  assert.equal(parseRestoreTime('2026-11-25', NOW), Date.UTC(2026, 10, 25));
  for (const bad of ['yesterday', '2h', '-0s', '-2x', 'Nov 25 2026', '2026-13-45T00:00:00Z', ''])
    assert.equal(parseRestoreTime(bad, NOW), undefined, bad);
});

test('restore refuses times outside the history window or before the first record', () => {
  assert.equal(restoreTimeProblem(NOW - DAY, NOW, 7 * DAY, NOW - 3 * DAY), undefined);
  assert.match(restoreTimeProblem(NOW - 8 * DAY, NOW, 7 * DAY, undefined)!, /outside the history window \(168h\)/);
  assert.match(restoreTimeProblem(NOW - 4 * DAY, NOW, 7 * DAY, NOW - 3 * DAY)!, /before the first change in the log/);
});

const base = { source: 's', seq: 1, ts: 0, path: relPath('a/b') };
const file = { ...base, op: 'file' as const, size: 3, mode: 0o644, mtimeMs: 1000, hash: 'h'.repeat(64) };

test('verify reports each kind of drift', () => {
  assert.deepEqual(compareEntry(file, { kind: 'file', size: 3, mode: 0o644, mtimeMs: 1000 }), []);
  assert.deepEqual(
    compareEntry(file, undefined).map((d) => d.problem),
    ['missing'],
  );
  assert.deepEqual(
    compareEntry(file, { kind: 'dir', mode: 0o755 }).map((d) => d.problem),
    ['type'],
  );
  assert.deepEqual(
    compareEntry(file, { kind: 'file', size: 4, mode: 0o600, mtimeMs: 2000 }).map((d) => d.problem),
    ['size', 'mtime', 'mode'],
  );
  assert.deepEqual(
    compareEntry(file, { kind: 'file', size: 3, mode: 0o644, mtimeMs: 1000, hash: 'x'.repeat(64) }).map(
      (d) => d.problem,
    ),
    ['content'],
  );
  assert.deepEqual(
    compareEntry({ ...base, op: 'symlink', target: 't' }, { kind: 'symlink', target: 'u' }).map((d) => d.problem),
    ['target'],
  );
  assert.deepEqual(
    compareEntry({ ...base, op: 'dir', mode: 0o755 }, { kind: 'dir', mode: 0o700 }).map((d) => d.problem),
    ['mode'],
  );
  assert.match(
    formatDrift({ path: 'a/b', problem: 'mode', expected: '0755', actual: '0700' }),
    /^mode\s+"a\/b" \(expected 0755, found 0700\)$/,
  );
});

test('verify compares owners through the applier policy, and the own mtimes of directories and symlinks', () => {
  const owned = { ...file, owner: { uid: 82, gid: 82, user: 'www-data' } };
  const ownership = () => ({ uid: 33, gid: -1 }); // by name to 33; the group left as the applier found it
  const found = { kind: 'file' as const, size: 3, mode: 0o644, mtimeMs: 1000, uid: 33, gid: 5 };
  assert.deepEqual(compareEntry(owned, found, { ownership }), []);
  assert.deepEqual(compareEntry(owned, { ...found, uid: 82 }, { ownership }), [
    { path: 'a/b', problem: 'owner', expected: '33:5', actual: '82:5' },
  ]);
  assert.deepEqual(compareEntry(owned, { ...found, uid: 82 }), [], 'owners not compared without a policy');
  const dir = { ...base, op: 'dir' as const, mode: 0o755, mtimeMs: 5000 };
  assert.deepEqual(
    compareEntry(dir, { kind: 'dir', mode: 0o755, mtimeMs: 6000 }).map((d) => d.problem),
    ['mtime'],
  );
  assert.deepEqual(compareEntry({ ...dir, mtimeMs: undefined }, { kind: 'dir', mode: 0o755, mtimeMs: 6000 }), []);
  const link = { ...base, op: 'symlink' as const, target: 't', mtimeMs: 7 };
  assert.deepEqual(
    compareEntry(link, { kind: 'symlink', target: 't', mtimeMs: 8 }).map((d) => d.problem),
    ['mtime'],
  );
});

test('verify names the attribute and ACL parts that differ; a capability is expected only with --allow-setid', () => {
  const xattrs = { 'user.a': 'eA==', 'security.capability': 'AAAAAg==' };
  const carried = { ...file, xattrs, acl: { access: 'AgAAAA==' } };
  const found = { kind: 'file' as const, size: 3, mode: 0o644, mtimeMs: 1000 };
  assert.deepEqual(
    compareEntry(carried, { ...found, attributes: { xattrs: { 'user.a': 'eA==' }, acl: carried.acl } }),
    [],
  );
  assert.deepEqual(
    compareEntry(carried, { ...found, attributes: { xattrs, acl: carried.acl } }, { allowSetid: true }),
    [],
  );
  assert.deepEqual(compareEntry(carried, { ...found, attributes: { xattrs: { 'user.b': 'eA==' }, acl: {} } }), [
    { path: 'a/b', problem: 'xattrs', expected: 'user.a', actual: 'user.b' },
    { path: 'a/b', problem: 'acl', expected: 'access', actual: 'none' },
  ]);
  assert.deepEqual(compareEntry(file, { ...found, attributes: { xattrs: {} } }), [], 'not carried: not compared');
});
