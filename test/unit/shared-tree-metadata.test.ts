import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeMember,
  describeOverlap,
  encodeMember,
  overlapOf,
  overlapsWith,
  treeMetadataTopic,
  type TreeMember,
} from '../../services/shared/tree-metadata.ts';

const producer: TreeMember = {
  v: 1,
  role: 'producer',
  host: 'h1',
  source: 's',
  root: '/data/src',
  stateDir: '/var/p',
  at: 1,
};
const applier: TreeMember = {
  v: 1,
  role: 'applier',
  host: 'h1',
  replica: 'r1',
  target: '/data/replica',
  stateDir: '/var/a',
  at: 2,
};

test('the metadata topic is named beside the events topic', () => {
  assert.equal(treeMetadataTopic('mirrorlog.events'), 'mirrorlog.events.meta');
});

test('a member round-trips through its record, keyed by role and name', () => {
  for (const member of [producer, applier]) {
    const { key, value } = encodeMember(member);
    assert.equal(key, member.role === 'producer' ? 'producer/s' : 'applier/r1');
    assert.deepEqual(decodeMember(Buffer.from(value)), member);
  }
});

test('a tombstone, garbage or a relative path decodes to nothing', () => {
  assert.equal(decodeMember(null), undefined);
  assert.equal(decodeMember('not json'), undefined);
  assert.equal(decodeMember(JSON.stringify({ ...producer, root: 'rel/dir' })), undefined);
  assert.equal(decodeMember(JSON.stringify({ ...producer, v: 2 })), undefined);
});

test('overlap: equal, inside, containing, and apart (a shared name prefix is apart)', () => {
  assert.equal(overlapOf('/a/b', '/a/b'), 'equal');
  assert.equal(overlapOf('/a/b/', '/a/b'), 'equal');
  assert.equal(overlapOf('/a/b/c', '/a/b'), 'inside');
  assert.equal(overlapOf('/a', '/a/b'), 'contains');
  assert.equal(overlapOf('/a/bc', '/a/b'), undefined);
  assert.equal(overlapOf('/x', '/a/b'), undefined);
  assert.equal(overlapOf('/a/b', '/'), 'inside');
});

test("a producer root holding an applier's target or state dir on the same host is found", () => {
  const found = overlapsWith('/data', 'h1', [applier]);
  assert.deepEqual(
    found.map((o) => [o.what, o.overlap]),
    [['target', 'contains']],
  );
  assert.match(describeOverlap(found[0]!), /target of replica 'r1' on h1 \(\/data\/replica\) is inside it/);
  assert.deepEqual(
    overlapsWith('/var', 'h1', [applier]).map((o) => o.what),
    ['stateDir'],
  );
  assert.deepEqual(overlapsWith('/data', 'h2', [applier]), [], 'another host: other filesystems');
});

test("an applier target equal to, inside or containing the producer's root is found", () => {
  assert.equal(overlapsWith('/data/src', 'h1', [producer])[0]?.overlap, 'equal');
  assert.equal(overlapsWith('/data/src/replica', 'h1', [producer])[0]?.overlap, 'inside');
  assert.match(
    describeOverlap(overlapsWith('/data/src/replica', 'h1', [producer])[0]!),
    /root of source 's' .* contains it/,
  );
  assert.equal(overlapsWith('/data', 'h1', [producer])[0]?.overlap, 'contains');
  assert.deepEqual(overlapsWith('/data/replica', 'h1', [producer]), []);
});
