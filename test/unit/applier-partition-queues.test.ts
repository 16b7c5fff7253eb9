// The apply lane's queues (partition-queues.ts): per-partition order, and the memory they
// hold, which bounds fetching (inline content makes records large).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PartitionQueues, type LaneRecord } from '../../services/applier/partition-queues.ts';

const record = (partition: number, offset: number, valueBytes: number): LaneRecord => ({
  partition,
  offset,
  raw: { key: 'k', value: Buffer.alloc(valueBytes) },
  decoded: { ok: false } as unknown as LaneRecord['decoded'],
});

test('the bytes held follow what is pushed, shifted, put back and drained', () => {
  const queues = new PartitionQueues();
  assert.equal(queues.bytes, 0);
  queues.push(0, [record(0, 0, 10_000), record(0, 1, 20_000)]);
  queues.push(1, [record(1, 0, 0)]);
  const afterPush = queues.bytes;
  assert.ok(afterPush >= 2 * 30_000, `${afterPush} bytes for 30,000 bytes of values fetched and decoded`);
  const first = queues.shift(0)!;
  assert.equal(first.offset, 0);
  assert.ok(queues.bytes < afterPush - 20_000);
  queues.unshift(0, first);
  assert.equal(queues.bytes, afterPush);
  assert.equal(queues.peek(0)?.offset, 0, 'put back at the head of its partition');
  assert.equal(queues.size, 3);
  queues.drain();
  assert.equal(queues.bytes, 0);
  assert.equal(queues.size, 0);
});

test('a record put back before anything was taken still comes first', () => {
  const queues = new PartitionQueues();
  queues.push(2, [record(2, 5, 1)]);
  queues.unshift(2, record(2, 4, 1));
  assert.deepEqual([queues.shift(2)?.offset, queues.shift(2)?.offset, queues.shift(2)], [4, 5, undefined]);
});
