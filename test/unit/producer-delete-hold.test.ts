// The delete hold's life cycle with a fake index and clock: held while the guard says so,
// released when it allows, confirmed once, and given up when what was missing came back.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { relPath } from '../../schemas/rel-path.ts';
import { DeleteHold } from '../../services/producer/delete-hold.ts';
import type { Observation } from '../../services/producer/examiner.ts';
import { createProducerMetrics } from '../../services/producer/metrics.ts';
import { createLogger } from '../../services/shared/logger.ts';

const gone = (path: string): Observation => ({
  path: relPath(path),
  observed: undefined,
  fingerprint: undefined,
  firstHintAt: 0,
});
const back = (path: string): Observation => ({
  path: relPath(path),
  observed: { kind: 'dir', mode: 0o755 },
  fingerprint: undefined,
  firstHintAt: 0,
});

function setup(options: { tree: number; identityChanged?: string; confirmed?: boolean }) {
  let now = 0;
  const requeued: Observation[] = [];
  const rehinted: string[] = [];
  let identity = options.identityChanged;
  const below = new Map<string, number>();
  const hold = new DeleteHold({
    max: { kind: 'default' },
    confirmed: options.confirmed ?? false,
    confirmCommand: 'mirrorlog producer --root /r --confirm-deletes',
    countDeletes: (o) => (o.observed === undefined ? 1 + (below.get(o.path) ?? 0) : 0),
    isCreate: () => false,
    isBusy: () => false,
    treeEntries: () => options.tree,
    isWalking: () => false,
    identityChanged: () => identity,
    acceptIdentity: () => (identity = undefined),
    requeue: (observations) => requeued.push(...observations),
    rehint: (path) => rehinted.push(path),
    changed: () => undefined,
    metrics: createProducerMetrics(),
    logger: createLogger({ level: 'silent', name: 'test' }),
    now: () => now,
  });
  // Judged on the hold's own timer; the tests drive it through the same private entry.
  const tick = (ms: number) => {
    now += ms;
    (hold as unknown as { judge(): void }).judge();
  };
  return { hold, requeued, rehinted, below, tick, setIdentity: (value: string | undefined) => (identity = value) };
}

test('given a few deletes, when they are quiet, then they are published', () => {
  const { hold, requeued, tick } = setup({ tree: 1000 });
  hold.startWalkFinished();
  assert.deepEqual(
    hold.admit([gone('a'), back('b')]).map((o) => o.path),
    ['b'],
    'the delete waits, the rest goes on',
  );
  assert.equal(hold.judging, true);
  tick(500);
  assert.equal(requeued.length, 0, 'not quiet yet');
  tick(600);
  assert.deepEqual(
    requeued.map((o) => o.path),
    ['a'],
  );
  assert.deepEqual(
    hold.admit(requeued).map((o) => o.path),
    ['a'],
    'released observations pass',
  );
  hold.stop();
});

test('given a subtree of most of the tree deleted, then it is held with the reason, and rechecked', () => {
  const { hold, requeued, rehinted, below, tick } = setup({ tree: 1000 });
  hold.startWalkFinished();
  below.set('big', 799);
  hold.admit([gone('big'), gone('big/x')]);
  tick(1100);
  assert.equal(requeued.length, 0);
  assert.match(
    hold.reason ?? '',
    /^deletes held: 800 of 1000 entries \(80%\) would be deleted at once, more than --max-delete allows \(500\); to publish them: mirrorlog producer --root \/r --confirm-deletes$/,
  );
  assert.equal(rehinted.length, 0);
  tick(30_000);
  assert.deepEqual(rehinted.sort(), ['big', 'big/x'], 'held paths are looked at again every 30 s');
  // The directory came back (a disk mounted again): nothing to delete, ready again.
  hold.admit([back('big'), back('big/x')]);
  tick(200);
  assert.equal(hold.reason, undefined);
  assert.equal(requeued.length, 0);
  hold.stop();
});

test("given a replaced root, one delete is held; --confirm-deletes publishes the start's deletes, once", () => {
  const first = setup({
    tree: 1000,
    identityChanged: 'the root is not the directory the index was made from (inode 1 -> 2)',
  });
  first.hold.startWalkFinished();
  first.hold.admit([gone('one')]);
  first.tick(1100);
  assert.match(first.hold.reason ?? '', /inode 1 -> 2/);
  first.hold.stop();

  const confirmed = setup({ tree: 1000, identityChanged: 'inode 1 -> 2', confirmed: true });
  confirmed.hold.admit([gone('one')]);
  confirmed.tick(5000);
  assert.equal(confirmed.requeued.length, 0, 'not before the start walk ended');
  confirmed.hold.startWalkFinished();
  confirmed.tick(200);
  assert.deepEqual(
    confirmed.requeued.map((o) => o.path),
    ['one'],
  );
  confirmed.hold.startSettled();
  confirmed.setIdentity('inode 2 -> 3');
  confirmed.hold.admit([gone('two')]);
  confirmed.tick(1100);
  assert.match(confirmed.hold.reason ?? '', /inode 2 -> 3/, 'the confirmation covered the start only');
  confirmed.hold.stop();
});
