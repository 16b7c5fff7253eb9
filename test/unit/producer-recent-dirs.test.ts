import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RecentDirs } from '../../services/producer/domain/recent-dirs.ts';

test('recent directories: most recent first, each once, at most the limit, forgotten once taken', () => {
  const recent = new RecentDirs(3);
  for (const path of ['a/1', 'b/1', 'a/2', 'top', 'c/d/1', 'e/1']) recent.note(path);
  assert.deepEqual(recent.take(), ['e', 'c/d', '']);
  assert.deepEqual(recent.take(), []);
  recent.note('a/1');
  recent.note('b/1');
  recent.note('a/2');
  assert.deepEqual(recent.take(), ['a', 'b']);
});
