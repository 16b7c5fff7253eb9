import assert from 'node:assert/strict';
import { test } from 'node:test';
import { directoryPartitioner, murmur2, partitionOf } from '../../schemas/partitioner.ts';

// Vectors of Kafka's own murmur2 (the Java client's Utils.murmur2 tests), so clients in
// other languages that use Kafka's hash agree with ours.
const VECTORS: [string, number][] = [
  ['21', -973932308],
  ['foobar', -790332482],
  ['a-little-bit-long-string', -985981536],
  ['a-little-bit-longer-string', -1486304829],
  ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
  ['abc', 479470107],
];

test('murmur2 matches Kafka', () => {
  for (const [text, expected] of VECTORS) assert.equal(murmur2(Buffer.from(text)), expected, text);
});

test('a path is partitioned by its parent directory', () => {
  for (const partitions of [1, 3, 12, 100]) {
    assert.equal(partitionOf('news/2026/a.html', partitions), partitionOf('news/2026/b.jpg', partitions));
    assert.equal(partitionOf('top.txt', partitions), partitionOf('other.txt', partitions));
  }
  // Fixed vectors: the contract other implementations must reproduce.
  assert.equal(partitionOf('a.txt', 12), (murmur2(Buffer.from('')) & 0x7fffffff) % 12);
  assert.equal(partitionOf('foobar/x', 12), (-790332482 & 0x7fffffff) % 12);
  assert.equal(partitionOf('abc/x', 7), 479470107 % 7);
});

test('directories spread over partitions', () => {
  const used = new Set<number>();
  for (let i = 0; i < 200; i++) used.add(partitionOf(`dir${i}/file`, 12));
  assert.equal(used.size, 12);
});

test('the kafkajs partitioner uses the record key', () => {
  const partitioner = directoryPartitioner();
  const partitionMetadata = Array.from({ length: 12 }, (_, partitionId) => ({ partitionId }));
  assert.equal(
    partitioner({ topic: 't', partitionMetadata, message: { key: Buffer.from('foobar/x') } }),
    partitionOf('foobar/x', 12),
  );
  assert.equal(
    partitioner({ topic: 't', partitionMetadata, message: { key: 'foobar/x' } }),
    partitionOf('foobar/x', 12),
  );
  assert.throws(() => partitioner({ topic: 't', partitionMetadata, message: { key: null } }), /path key/);
});
