import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ListedChild } from '../../services/producer/domain/dir-compare.ts';
import { listingDigest } from '../../services/producer/domain/listing-digest.ts';

const fingerprint = { ino: 10, size: 3, mtimeMs: 1_700_000_000_123.456, ctimeMs: 1_700_000_000_124.5 };
const base: ListedChild[] = [
  { name: 'f', kind: 'file', mode: 0o644, fingerprint, mtimeMs: 1_700_000_000_123, owner: { uid: 1, gid: 2 } },
  { name: 'd', kind: 'dir', mode: 0o755, fingerprint: { ...fingerprint, ino: 11 }, mtimeMs: 5 },
  { name: 'l', kind: 'symlink', target: 'f', mtimeMs: 6 },
  { name: 'p', kind: 'special' },
];
const hex = (listed: readonly ListedChild[]) => listingDigest(listed).toString('hex');
const withFirst = (change: Partial<ListedChild>) => [{ ...base[0]!, ...change }, ...base.slice(1)];

test('equal listings have equal digests; every compared field, the names and the order change it', () => {
  assert.equal(hex(structuredClone(base)), hex(base));
  const variants: ListedChild[][] = [
    withFirst({ name: 'g' }),
    withFirst({ kind: 'special' }),
    withFirst({ mode: 0o600 }),
    withFirst({ fingerprint: { ...fingerprint, ino: 12 } }),
    withFirst({ fingerprint: { ...fingerprint, size: 4 } }),
    withFirst({ fingerprint: { ...fingerprint, mtimeMs: fingerprint.mtimeMs + 0.001 } }),
    withFirst({ fingerprint: { ...fingerprint, ctimeMs: fingerprint.ctimeMs + 0.001 } }),
    withFirst({ fingerprint: undefined }),
    withFirst({ mtimeMs: 1_700_000_000_124 }),
    withFirst({ owner: { uid: 1, gid: 3 } }),
    withFirst({ owner: { uid: 3, gid: 2 } }),
    withFirst({ owner: undefined }),
    withFirst({ attributes: {} }),
    withFirst({ attributes: { xattrs: { 'user.a': 'eA==' } } }),
    withFirst({ target: '' }),
    [base[1]!, base[0]!, ...base.slice(2)],
    base.slice(1),
    [...base, { name: 'q', kind: 'special' }],
    [base[0]!, base[1]!, { ...base[2]!, target: 'g' }, base[3]!],
  ];
  const seen = new Set([hex(base)]);
  for (const [i, variant] of variants.entries()) {
    const digest = hex(variant);
    assert.equal(seen.has(digest), false, `variant ${i} collides`);
    seen.add(digest);
  }
});

test('names are kept apart from what follows them', () => {
  const one: ListedChild[] = [{ name: 'ab', kind: 'symlink', target: 'c' }];
  const other: ListedChild[] = [{ name: 'a', kind: 'symlink', target: 'bc' }];
  assert.notEqual(hex(one), hex(other));
});

test('a listing larger than the scratch buffer is hashed in pieces, the same way each time', () => {
  const many: ListedChild[] = Array.from({ length: 5000 }, (_, i) => ({
    name: `file-${i}-${'x'.repeat(40)}`,
    kind: 'file',
    mode: 0o644,
    fingerprint: { ...fingerprint, ino: i },
    mtimeMs: 1,
  }));
  const digest = hex(many);
  assert.equal(hex(many), digest);
  many[4999] = { ...many[4999]!, mode: 0o600 };
  assert.notEqual(hex(many), digest, 'a change in the last piece counts');
});
