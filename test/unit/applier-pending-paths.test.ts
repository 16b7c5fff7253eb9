// The dependency rule of parallel apply (domain/pending-paths.ts): a decision waits for
// writes in flight on its path, its ancestors and its descendants, never for unrelated ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { isBelow, relPath } from '../../schemas/rel-path.ts';
import { PendingPaths } from '../../services/applier/domain/pending-paths.ts';
import type { Step } from '../../services/applier/domain/plan.ts';

const unlink = (path: string): Step => ({ op: 'unlink', path: relPath(path) });

test('a write in flight blocks its own path, its ancestors and its descendants', () => {
  const pending = new PendingPaths();
  pending.add('news/2026/a.html');
  for (const path of ['news/2026/a.html', 'news/2026', 'news', '', 'news/2026/a.html/x'])
    assert.equal(pending.touches(path), true, path);
  for (const path of ['news/2026/b.html', 'news/2025', 'img', 'news/2026/a.htm', 'news/2026/a.html2'])
    assert.equal(pending.touches(path), false, path);
});

test('a decision waits when any of its steps touches a write in flight, or its link source does', () => {
  const pending = new PendingPaths();
  pending.add('a/f');
  assert.equal(pending.blocks('b/g', [unlink('b/g')]), false);
  assert.equal(pending.blocks('b/g', [{ op: 'remove-tree', path: relPath('a') }, unlink('b/g')]), true);
  const link: Step = { op: 'link', path: relPath('b/g'), from: relPath('a/f'), size: 1, names: 1 };
  assert.equal(pending.blocks('b/g', [link]), true);
  assert.equal(pending.blocks('a', []), true, 'the event path itself counts even without steps');
});

test('a path is in flight once at most, and is released exactly', () => {
  const pending = new PendingPaths();
  pending.add('a/b/c');
  pending.add('a/b/d');
  assert.throws(() => pending.add('a/b/c'), /already in flight/);
  pending.delete('a/b/c');
  assert.equal(pending.touches('a/b'), true, 'a/b/d is still in flight');
  pending.delete('a/b/d');
  pending.delete('a/b/d'); // a second release is harmless
  assert.equal(pending.size, 0);
  for (const path of ['a/b/c', 'a/b', 'a', '']) assert.equal(pending.touches(path), false, path);
});

const segment = fc.constantFrom('a', 'b', 'c');
const pathArb = fc.array(segment, { minLength: 1, maxLength: 4 }).map((parts) => parts.join('/'));

test('touches() is exactly "equal, above or below" for any set of paths in flight', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(pathArb, { maxLength: 6 }),
      fc.array(pathArb, { maxLength: 3 }),
      pathArb,
      (added, removed, probe) => {
        const pending = new PendingPaths();
        for (const path of added) pending.add(path);
        for (const path of removed) pending.delete(path);
        const inFlight = added.filter((path) => !removed.includes(path));
        const expected = inFlight.some((p) => p === probe || isBelow(p, probe) || isBelow(probe, p));
        assert.equal(pending.touches(probe), expected);
        assert.equal(pending.touches(''), inFlight.length > 0);
      },
    ),
  );
});
