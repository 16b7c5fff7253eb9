// The publish stage's queue: batches in order within their limits, inline bytes counted,
// and a held observation released during its own batch's send queued again, not done.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { relPath } from '../../schemas/rel-path.ts';
import type { Observation } from '../../services/producer/domain/observation.ts';
import { ReadyQueue } from '../../services/producer/domain/ready-queue.ts';

function observation(path: string, bytes = 0): Observation {
  const data = bytes > 0 ? Buffer.alloc(bytes) : undefined;
  return { path: relPath(path), observed: undefined, fingerprint: undefined, firstHintAt: 0, data };
}

const limits = { maxBatch: 2, maxBatchBytes: 1 << 20 };

test('batches come oldest first, stay queued until sent, and their bytes are counted', () => {
  const queue = new ReadyQueue();
  const [a, b, c] = [observation('a', 10), observation('b', 20), observation('c', 30)];
  for (const o of [a, b, c]) queue.push(o);
  assert.equal(queue.bytes, 60);
  const batch = queue.nextBatch(limits);
  assert.deepEqual(batch, [a, b]);
  assert.equal(queue.length, 3);
  assert.deepEqual(queue.sent(batch, new Set(batch)), ['a', 'b']);
  assert.equal(queue.length, 1);
  assert.equal(queue.bytes, 30);
  assert.deepEqual(queue.nextBatch(limits), [c]);
});

test('a held observation released while its batch was sent is queued again, its path not done', () => {
  const queue = new ReadyQueue();
  const kept = observation('kept');
  const held = observation('gone', 5);
  queue.push(kept);
  queue.push(held);
  const batch = queue.nextBatch(limits);
  queue.releasedDuringSend(held);
  assert.deepEqual(queue.sent(batch, new Set([kept])), ['kept']);
  assert.deepEqual(queue.nextBatch(limits), [held]);
  assert.equal(queue.bytes, 5);
  assert.deepEqual(queue.sent([held], new Set([held])), ['gone']);
  assert.equal(queue.length, 0);
});

test('a release that the batch published anyway, or that was forgotten, does not send twice', () => {
  const queue = new ReadyQueue();
  const first = observation('x');
  queue.push(first);
  queue.releasedDuringSend(first);
  assert.deepEqual(queue.sent(queue.nextBatch(limits), new Set([first])), ['x']);
  assert.equal(queue.length, 0);

  const second = observation('y');
  queue.push(second);
  queue.releasedDuringSend(second);
  queue.forget('y');
  assert.deepEqual(queue.sent(queue.nextBatch(limits), new Set()), ['y']);
  assert.equal(queue.length, 0);
});

test('a release recorded for an older observation of the path does not requeue a newer one', () => {
  const queue = new ReadyQueue();
  const older = observation('p');
  const newer = observation('p');
  queue.releasedDuringSend(older);
  queue.push(newer);
  assert.deepEqual(queue.sent(queue.nextBatch(limits), new Set()), ['p']);
  assert.equal(queue.length, 0);
});
