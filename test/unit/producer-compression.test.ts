import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { encodeRecord } from '../../schemas/codec.ts';
import { relPath } from '../../schemas/rel-path.ts';
import { worthCompressing } from '../../services/producer/domain/compression.ts';

const inlineFile = (i: number, content: Buffer) =>
  encodeRecord({
    source: 'src',
    seq: i + 1,
    ts: 1,
    path: relPath(`d${i % 100}/f${i}.dat`),
    op: 'file',
    size: content.length,
    mode: 0o644,
    mtimeMs: 1,
    hash: crypto.createHash('sha256').update(content).digest('hex'),
    data: content,
  }).value;

const page = (i: number) =>
  Buffer.from(
    `<html><head><title>Story ${i}</title></head><body>` +
      '<p>The council met on Tuesday to discuss the budget.</p>'.repeat(40) +
      '</body></html>',
  );
const noise = (i: number) => crypto.randomBytes(1000 + (i % 7000));

test('text pages inline are worth compressing', () => {
  assert.equal(worthCompressing(Array.from({ length: 700 }, (_, i) => inlineFile(i, page(i)))), true);
});

test('inline content that is already compressed is sent as it is: gzip would only undo base64', () => {
  assert.equal(worthCompressing(Array.from({ length: 700 }, (_, i) => inlineFile(i, noise(i)))), false);
});

test('the sample is spread over the whole batch, not taken from its head', () => {
  const values = Array.from({ length: 10_000 }, (_, i) => inlineFile(i, i < 5_000 ? noise(i) : page(i)));
  assert.equal(worthCompressing(values), true);
});

test('a batch of metadata-only events (directories) compresses well', () => {
  const values = Array.from(
    { length: 500 },
    (_, i) =>
      encodeRecord({ source: 'src', seq: i + 1, ts: 1, path: relPath(`new/d${i}`), op: 'dir', mode: 0o755 }).value,
  );
  assert.equal(worthCompressing(values), true);
});

test('nothing to sample: not worth it', () => {
  assert.equal(worthCompressing([]), false);
  assert.equal(worthCompressing([null, null]), false);
});
