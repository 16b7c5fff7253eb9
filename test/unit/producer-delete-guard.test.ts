import assert from 'node:assert/strict';
import { test } from 'node:test';
import { producerConfigSchema } from '../../schemas/config.ts';
import {
  decodeIdentity,
  deleteLimit,
  DeleteWindow,
  dueForJudgement,
  encodeIdentity,
  identityChange,
  judgeDeletes,
  outermostPaths,
  parseMaxDelete,
  type DeleteSituation,
  type RootIdentity,
} from '../../services/producer/domain/delete-guard.ts';

const root: RootIdentity = { dev: 2049, ino: 131, mountPoint: true, bornMs: 1000.5 };

test('--max-delete: 0 is off, a number counts entries, a percentage is a share, auto is the default', () => {
  assert.deepEqual(parseMaxDelete('0'), { kind: 'off' });
  assert.deepEqual(parseMaxDelete('0%'), { kind: 'off' });
  assert.deepEqual(parseMaxDelete('5000'), { kind: 'count', count: 5000 });
  assert.deepEqual(parseMaxDelete(' 25% '), { kind: 'percent', percent: 25 });
  assert.deepEqual(parseMaxDelete('auto'), { kind: 'default' });
  for (const bad of ['-1', '150%', 'ten', '1.5', '', '%']) assert.equal(parseMaxDelete(bad), undefined, bad);
});

test('--max-delete in the config: flag text or a number; a bad value names the field', () => {
  const base = { root: '/r' };
  assert.deepEqual(producerConfigSchema.parse(base).maxDelete, { kind: 'default' });
  assert.deepEqual(producerConfigSchema.parse({ ...base, maxDelete: 0 }).maxDelete, { kind: 'off' });
  assert.deepEqual(producerConfigSchema.parse({ ...base, maxDelete: '10%' }).maxDelete, {
    kind: 'percent',
    percent: 10,
  });
  const bad = producerConfigSchema.safeParse({ ...base, maxDelete: 'lots' });
  assert.equal(bad.success, false);
  assert.deepEqual(bad.error?.issues[0]?.path, ['maxDelete']);
  assert.match(bad.error?.issues[0]?.message ?? '', /percentage \(25%\)/);
});

test('the default limit: 50% of the tree or 10,000, whichever is smaller, never below 100', () => {
  const auto = { kind: 'default' } as const;
  assert.equal(deleteLimit(auto, 2088), 1044);
  assert.equal(deleteLimit(auto, 1_000_000), 10_000);
  assert.equal(deleteLimit(auto, 20), 100);
  assert.equal(deleteLimit({ kind: 'percent', percent: 10 }, 2088), 208);
  assert.equal(deleteLimit({ kind: 'count', count: 7 }, 2088), 7);
  assert.equal(deleteLimit({ kind: 'off' }, 2088), Number.POSITIVE_INFINITY);
});

test('the root identity: the same directory, or what changed', () => {
  assert.equal(identityChange(root, { ...root }), undefined);
  assert.match(identityChange(root, { ...root, ino: 7 }) ?? '', /inode 131 -> 7/);
  assert.match(
    identityChange(root, { ...root, dev: 1, mountPoint: false }) ?? '',
    /device 2049 -> 1, it is no longer a mount point/,
  );
  assert.match(
    identityChange(root, { ...root, bornMs: 2000 }) ?? '',
    /created anew/,
    'a reused inode number is still caught',
  );
  assert.equal(
    identityChange({ ...root, bornMs: 0 }, { ...root, bornMs: 2000 }),
    undefined,
    'no birth time recorded: not compared',
  );
  assert.deepEqual(decodeIdentity(encodeIdentity(root)), root);
  assert.equal(decodeIdentity(undefined), undefined);
  assert.equal(decodeIdentity('{"dev":1}'), undefined);
});

const situation = (over: Partial<DeleteSituation>): DeleteSituation => ({
  pendingEntries: 0,
  recentlyDeleted: 0,
  treeEntries: 2088,
  max: { kind: 'default' },
  identityChanged: undefined,
  confirmed: false,
  ...over,
});

test('given a replaced root, when anything would be deleted, then it is held', () => {
  const judged = judgeDeletes(
    situation({
      pendingEntries: 1,
      identityChanged: 'the root is not the directory the index was made from (inode 1 -> 2)',
    }),
  );
  assert.deepEqual(judged, {
    verdict: 'hold',
    reason: 'the root is not the directory the index was made from (inode 1 -> 2)',
  });
  assert.deepEqual(
    judgeDeletes(situation({ pendingEntries: 0, identityChanged: 'x' })),
    { verdict: 'publish' },
    'nothing to delete',
  );
});

test('given the whole tree deleted at once, it is held; below the limit it is published', () => {
  const wiped = judgeDeletes(situation({ pendingEntries: 2088 }));
  assert.equal(wiped.verdict, 'hold');
  assert.match(
    wiped.verdict === 'hold' ? wiped.reason : '',
    /2088 of 2088 entries \(100%\) would be deleted at once, more than --max-delete allows \(1044\)/,
  );
  assert.deepEqual(judgeDeletes(situation({ pendingEntries: 1044 })), { verdict: 'publish' });
  assert.equal(
    judgeDeletes(situation({ pendingEntries: 600, recentlyDeleted: 600 })).verdict,
    'hold',
    'a burst in slices adds up',
  );
  assert.deepEqual(
    judgeDeletes(situation({ pendingEntries: 1500, recentlyDeleted: -1400 })),
    { verdict: 'publish' },
    'a directory renamed: as many created as deleted',
  );
});

test('confirmed, or the guard off: published whatever the number and the root', () => {
  assert.deepEqual(judgeDeletes(situation({ pendingEntries: 2088, identityChanged: 'x', confirmed: true })), {
    verdict: 'publish',
  });
  assert.deepEqual(judgeDeletes(situation({ pendingEntries: 2088, identityChanged: 'x', max: { kind: 'off' } })), {
    verdict: 'publish',
  });
});

test('judged once quiet, or after the longest wait, and never during a walk', () => {
  const at = (now: number, walking = false) => ({ now, firstHeldAt: 0, lastHeldAt: 900, walking });
  assert.equal(dueForJudgement(at(1500), 1000, 10_000), false);
  assert.equal(dueForJudgement(at(1900), 1000, 10_000), true);
  assert.equal(dueForJudgement({ now: 10_000, firstHeldAt: 0, lastHeldAt: 9_999, walking: false }, 1000, 10_000), true);
  assert.equal(dueForJudgement(at(50_000, true), 1000, 10_000), false);
  assert.equal(
    dueForJudgement({ ...at(1900), busy: true }, 1000, 10_000),
    false,
    'what came with them is still being examined',
  );
  assert.equal(
    dueForJudgement({ ...at(10_000), busy: true }, 1000, 10_000),
    true,
    'busy only delays up to the longest wait',
  );
});

test('a burst window forgets what is older than the window; creates count against deletes', () => {
  const window = new DeleteWindow(60_000);
  window.add(1, -3);
  assert.equal(window.total(2), -3);
  window.add(0, 13);
  window.add(30_000, 5);
  assert.equal(window.total(59_999), 15);
  assert.equal(window.total(60_000), 2);
  assert.equal(window.total(60_001), 5);
  assert.equal(window.total(90_000), 0);
});

test('held paths below another held path are counted once, by their ancestor', () => {
  assert.deepEqual(outermostPaths(['a/b', 'a', 'a!', 'a/b/c', 'b', 'a-c/d', 'a-c']), ['a', 'a!', 'a-c', 'b']);
  assert.deepEqual(outermostPaths([]), []);
});
