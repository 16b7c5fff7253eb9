import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HintQueue } from '../../services/producer/domain/hint-queue.ts';

const paths = (taken: { path: string }[]) => taken.map((t) => t.path);

test('a hint is due after the quiet window', () => {
  const queue = new HintQueue(10, 250);
  queue.add('a', 1000);
  assert.deepEqual(queue.takeDue(1009, 10), []);
  assert.equal(queue.nextDue(), 1010);
  assert.deepEqual(queue.takeDue(1010, 10), [{ path: 'a', firstHintAt: 1000 }]);
  assert.equal(queue.size, 0);
});

test('re-hints push the due time out, but never past the cap', () => {
  const queue = new HintQueue(10, 25);
  queue.add('a', 0);
  queue.add('a', 8);
  assert.deepEqual(queue.takeDue(10, 10), []);
  queue.add('a', 16);
  queue.add('a', 24);
  assert.deepEqual(paths(queue.takeDue(25, 10)), ['a']);
});

test('paths come out in due order, up to the limit', () => {
  const queue = new HintQueue(10, 250);
  queue.add('a', 0);
  queue.add('b', 1);
  queue.add('c', 2);
  queue.add('a', 3);
  assert.deepEqual(paths(queue.takeDue(12, 10)), ['b', 'c']);
  assert.deepEqual(paths(queue.takeDue(13, 1)), ['a']);
});

test('a long retry delay does not hold back fresh hints', () => {
  const queue = new HintQueue(10, 250);
  queue.add('slow', 0, 5000);
  queue.add('fresh', 1);
  assert.equal(queue.nextDue(), 11);
  assert.deepEqual(paths(queue.takeDue(11, 10)), ['fresh']);
  assert.deepEqual(queue.takeDue(4999, 10), []);
  queue.add('slow', 100); // a hint while a retry is scheduled: the retry covers it
  assert.deepEqual(paths(queue.takeDue(5000, 10)), ['slow']);
  assert.equal(queue.size, 0);
});

test('overdue retries come first and keep their first hint time', () => {
  const queue = new HintQueue(10, 250);
  queue.add('r', 0, 100);
  queue.add('x', 95);
  assert.deepEqual(queue.takeDue(105, 10), [
    { path: 'r', firstHintAt: 0 },
    { path: 'x', firstHintAt: 95 },
  ]);
});
