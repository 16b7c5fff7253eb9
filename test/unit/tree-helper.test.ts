// The tree oracle's mtime must agree with a replica set to the whole millisecond, also
// where the double mtimeMs rounds up past it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { wholeMs } from '../helpers/tree.ts';

test('wholeMs floors the nanoseconds, where the double mtimeMs rounds up', () => {
  const ns = 1_796_143_780_079_999_999n;
  assert.equal(Number(ns) / 1e6, 1_796_143_780_080, 'the double rounds up');
  assert.equal(wholeMs({ mtimeNs: ns }), 1_796_143_780_079);
  assert.equal(wholeMs({ mtimeNs: 1_796_143_780_080_000_000n }), 1_796_143_780_080);
  assert.equal(wholeMs({ mtimeNs: -1n }), -1, 'before 1970 floors down');
  assert.equal(wholeMs({ mtimeNs: -1_000_000n }), -1);
});
