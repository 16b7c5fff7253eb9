import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  fileContent,
  MAX_FILE_SIZE,
  MIN_FILE_SIZE,
  planBurst,
  planSingles,
  planTree,
  sampleIndexes,
  sha256,
} from '../bench/tree-plan.ts';

test('a tree plan is deterministic: same seed, same paths, sizes and bytes', () => {
  const a = [...planTree({ files: 500, seed: 1 })];
  const b = [...planTree({ files: 500, seed: 1 })];
  assert.deepEqual(a, b);
  assert.equal(sha256(fileContent(a[123]!)), sha256(fileContent(b[123]!)));
  const c = [...planTree({ files: 500, seed: 2 })];
  assert.deepEqual(
    a.map((f) => f.path),
    c.map((f) => f.path),
  );
  assert.notDeepEqual(
    a.map((f) => f.size),
    c.map((f) => f.size),
  );
});

test('100 files per leaf directory, leaf directories 3 levels deep', () => {
  const plan = planTree({ files: 20_000, seed: 1 });
  assert.equal(plan.leafDirs, 200);
  assert.equal(plan.fanout, 6); // 5^3 = 125 < 200 ≤ 216 = 6^3
  const perDir = new Map<string, number>();
  for (const file of plan) {
    const parts = file.path.split('/');
    assert.equal(parts.length, 4, file.path);
    const dir = parts.slice(0, 3).join('/');
    perDir.set(dir, (perDir.get(dir) ?? 0) + 1);
  }
  assert.equal(perDir.size, 200);
  for (const count of perDir.values()) assert.equal(count, 100);
  assert.equal(plan.file(0).path, 'd0/d0/d0/f00000.dat');
  assert.equal(plan.file(19_999).path, 'd5/d3/d1/f19999.dat'); // leaf 199 = 5·36 + 3·6 + 1
});

test('dirs() lists every directory once, parents first', () => {
  const plan = planTree({ files: 1_000, seed: 1 });
  const dirs = plan.dirs();
  assert.equal(new Set(dirs).size, dirs.length);
  const seen = new Set<string>();
  for (const dir of dirs) {
    const parent = dir.split('/').slice(0, -1).join('/');
    if (parent !== '') assert.ok(seen.has(parent), `${parent} before ${dir}`);
    seen.add(dir);
  }
  for (const file of plan) assert.ok(seen.has(file.path.split('/').slice(0, 3).join('/')));
  assert.equal(plan.fanout, 3); // 10 leaf directories: 2^3 = 8 < 10 ≤ 27
});

test('fan-out is exact at powers: 1M files → 10,000 leaf directories, fan-out 22', () => {
  assert.equal(planTree({ files: 1_000_000, seed: 1 }).fanout, 22); // 21^3 = 9,261 < 10,000 ≤ 10,648
  assert.equal(planTree({ files: 100_000, seed: 1 }).fanout, 10); // exactly 10^3
  assert.equal(planTree({ files: 100, seed: 1 }).fanout, 1);
  assert.equal(planTree({ files: 1, seed: 1 }).file(0).path, 'd0/d0/d0/f0.dat');
});

test('sizes span 200 B to 8 KiB', () => {
  let min = Infinity;
  let max = 0;
  let sum = 0;
  for (const file of planTree({ files: 20_000, seed: 1 })) {
    min = Math.min(min, file.size);
    max = Math.max(max, file.size);
    sum += file.size;
    assert.ok(file.size >= MIN_FILE_SIZE && file.size <= MAX_FILE_SIZE);
  }
  assert.ok(min < 250 && max > 8100, `${min}..${max}`);
  assert.ok(Math.abs(sum / 20_000 - (MIN_FILE_SIZE + MAX_FILE_SIZE) / 2) < 100);
});

test('file contents have the planned size and differ between files', () => {
  const plan = planTree({ files: 300, seed: 5 });
  const hashes = new Set<string>();
  for (const file of plan) {
    const data = fileContent(file);
    assert.equal(data.length, file.size);
    hashes.add(sha256(data));
  }
  assert.equal(hashes.size, 300);
});

test('planTree refuses a bad file count or index', () => {
  assert.throws(() => planTree({ files: 0, seed: 1 }), RangeError);
  assert.throws(() => planTree({ files: 10, seed: 1 }).file(10), RangeError);
});

test('a burst spreads its files evenly over new directories and marks evenly spaced ones', () => {
  const plan = planBurst({ seed: 1, root: 'bench-burst', files: 10_000, dirs: 100, marked: 50 });
  assert.equal(plan.dirs.length, 100);
  assert.equal(plan.files.length, 10_000);
  const perDir = new Map<string, number>();
  for (const f of plan.files) {
    const dir = f.path.slice(0, f.path.lastIndexOf('/'));
    perDir.set(dir, (perDir.get(dir) ?? 0) + 1);
  }
  assert.deepEqual([...perDir.keys()], plan.dirs);
  for (const n of perDir.values()) assert.equal(n, 100);
  const marked = plan.files.filter((f) => f.marked).map((f) => f.index);
  assert.equal(marked.length, 50);
  assert.equal(marked[0], 100);
  assert.equal(marked[1], 300);
  assert.equal(marked[49], 9_900);
  assert.equal(new Set(plan.files.map((f) => f.path)).size, 10_000);
  assert.deepEqual(
    planBurst({ seed: 1, root: 'x', files: 10, dirs: 3, marked: 0 }).files.filter((f) => f.marked),
    [],
  );
  assert.throws(() => planBurst({ seed: 1, root: 'x', files: 2, dirs: 3, marked: 0 }), RangeError);
});

test('burst and single-write files do not collide with the tree or each other', () => {
  const singles = planSingles({ seed: 1, root: 'bench-latency', count: 200, stream: 2 });
  assert.equal(singles[0]!.path, 'bench-latency/l000.dat');
  assert.equal(new Set(singles.map((f) => f.path)).size, 200);
  const tree = planTree({ files: 200, seed: 1 });
  assert.notEqual(singles[0]!.seed, tree.file(0).seed);
});

test('sampleIndexes picks distinct ascending indexes deterministically', () => {
  const a = sampleIndexes(1, 1000, 50);
  assert.equal(a.length, 50);
  assert.equal(new Set(a).size, 50);
  assert.deepEqual(
    a,
    [...a].sort((x, y) => x - y),
  );
  assert.ok(a.every((i) => i >= 0 && i < 1000));
  assert.deepEqual(a, sampleIndexes(1, 1000, 50));
  assert.deepEqual(sampleIndexes(1, 5, 10), [0, 1, 2, 3, 4]);
});
