import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkRootAgainstReplicas } from '../../services/producer/tree-registration.ts';
import type { TreeMember } from '../../services/shared/tree-metadata.ts';

const applier = (target: string, stateDir = '/var/lib/a', host = 'h'): TreeMember => ({
  v: 1,
  role: 'applier',
  host,
  replica: 'r',
  target,
  stateDir,
  at: 0,
});

test("a root equal to, containing or inside a replica's target is refused", () => {
  assert.throws(
    () => checkRootAgainstReplicas('/data/src', 'h', [applier('/data/src')]),
    /the target of replica 'r' on h \(\/data\/src\) is the same directory/,
  );
  assert.throws(() => checkRootAgainstReplicas('/data/src', 'h', [applier('/data/src/replica')]), /is inside it/);
  assert.throws(() => checkRootAgainstReplicas('/data/src', 'h', [applier('/data')]), /contains it/);
});

test("a root holding a replica's state directory is refused", () => {
  assert.throws(() => checkRootAgainstReplicas('/var', 'h', [applier('/backup')]), /state directory of replica 'r'/);
});

test('apart, on another host, or another producer: accepted', () => {
  checkRootAgainstReplicas('/data/src', 'h', [applier('/data/replica')]);
  checkRootAgainstReplicas('/data/src', 'h', [applier('/data/src', '/x', 'other-host')]);
  checkRootAgainstReplicas('/data/src', 'h', [
    { v: 1, role: 'producer', host: 'h', source: 'old', root: '/data/src', stateDir: '/p', at: 0 },
  ]);
});
