import assert from 'node:assert/strict';
import { test } from 'node:test';
import { percentile, round, summarize } from '../bench/stats.ts';

const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

test('nearest-rank percentiles of 1..100 are the ranks themselves', () => {
  const values = upTo(100);
  assert.equal(percentile(values, 50), 50);
  assert.equal(percentile(values, 95), 95);
  assert.equal(percentile(values, 99), 99);
  assert.equal(percentile(values, 100), 100);
  assert.equal(percentile(values, 0.5), 1);
});

test('p99 of 200 samples is the 198th; of 50 samples, the largest', () => {
  assert.equal(percentile(upTo(200), 99), 198);
  assert.equal(percentile(upTo(200), 50), 100);
  assert.equal(percentile(upTo(50), 99), 50);
  assert.equal(percentile(upTo(50), 50), 25);
});

test('a single sample is every percentile', () => {
  for (const p of [1, 50, 95, 99, 100]) assert.equal(percentile([7], p), 7);
});

test('percentile refuses no samples and p outside (0, 100]', () => {
  assert.throws(() => percentile([], 50), RangeError);
  assert.throws(() => percentile([1], 0), RangeError);
  assert.throws(() => percentile([1], 101), RangeError);
});

test('summarize sorts its input and does not modify it', () => {
  const samples = [30, 10, 20, 50, 40];
  const s = summarize(samples);
  assert.deepEqual(samples, [30, 10, 20, 50, 40]);
  assert.deepEqual(s, { count: 5, min: 10, mean: 30, p50: 30, p95: 50, p99: 50, max: 50 });
});

test('round', () => {
  assert.equal(round(1.23456, 1), 1.2);
  assert.equal(round(1.25, 1), 1.3);
  assert.equal(round(1234.5, 0), 1235);
});
