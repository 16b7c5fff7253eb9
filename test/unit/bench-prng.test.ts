import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRng, deriveSeed, mix32, randomBytes } from '../bench/prng.ts';

test('the same seed gives the same sequence, another seed another one', () => {
  const take = (seed: number): number[] => {
    const rng = createRng(seed);
    return Array.from({ length: 20 }, () => rng.nextU32());
  };
  assert.deepEqual(take(42), take(42));
  assert.notDeepEqual(take(42), take(43));
  // Seed 0 is valid (the state is never 0).
  assert.ok(take(0).some((v) => v !== 0));
});

test('the sequence is a fixed contract: runs on other days must write the same bytes', () => {
  const rng = createRng(1);
  assert.deepEqual(
    Array.from({ length: 3 }, () => rng.nextU32()),
    (() => {
      const again = createRng(1);
      return [again.nextU32(), again.nextU32(), again.nextU32()];
    })(),
  );
  assert.equal(mix32(0), 0);
  assert.equal(mix32(1), mix32(1));
  assert.notEqual(mix32(1), mix32(2));
  assert.equal(randomBytes(7, 16).toString('hex'), randomBytes(7, 16).toString('hex'));
});

test('nextInt stays within its bounds and reaches both ends', () => {
  const rng = createRng(3);
  const seen = new Set<number>();
  for (let i = 0; i < 10_000; i++) {
    const v = rng.nextInt(5, 9);
    assert.ok(v >= 5 && v <= 9, String(v));
    seen.add(v);
  }
  assert.deepEqual([...seen].sort(), [5, 6, 7, 8, 9]);
});

test('nextFloat is in [0, 1) and roughly uniform', () => {
  const rng = createRng(11);
  let sum = 0;
  for (let i = 0; i < 100_000; i++) {
    const v = rng.nextFloat();
    assert.ok(v >= 0 && v < 1);
    sum += v;
  }
  assert.ok(Math.abs(sum / 100_000 - 0.5) < 0.01);
});

test('derived seeds differ by stream and index', () => {
  const seeds = new Set<number>();
  for (let stream = 0; stream < 5; stream++) for (let i = 0; i < 1000; i++) seeds.add(deriveSeed(1, stream, i));
  assert.equal(seeds.size, 5000);
  assert.equal(deriveSeed(1, 2, 3), deriveSeed(1, 2, 3));
  assert.notEqual(deriveSeed(1, 2, 3), deriveSeed(2, 2, 3));
});

test('randomBytes has the requested length, any size, and depends on the seed', () => {
  for (const size of [0, 1, 3, 4, 5, 200, 8191, 8192]) assert.equal(randomBytes(1, size).length, size);
  assert.notEqual(randomBytes(1, 64).toString('hex'), randomBytes(2, 64).toString('hex'));
  // A prefix of a longer draw: the bytes of a file do not depend on its size beyond its end.
  assert.deepEqual(randomBytes(9, 100), randomBytes(9, 200).subarray(0, 100));
});
