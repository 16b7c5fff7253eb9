// A lost index is rebuilt from the compacted topic: the latest record of each path of this
// source, tombstones removing, other sources counted and left out.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeRecord } from '../../schemas/codec.ts';
import type { MirrorEvent } from '../../schemas/event.ts';
import { relPath } from '../../schemas/rel-path.ts';
import { MemorySourceIndex } from '../../services/producer/adapters/memory-source-index.ts';
import { IndexRebuild } from '../../services/producer/index-rebuild.ts';

const base = (path: string, seq: number, source = 'me') => ({ source, seq, ts: 1, path: relPath(path) });
const record = (event: MirrorEvent) => encodeRecord(event);

test('the index rebuilt from the topic holds the latest state of each path of this source', () => {
  const index = new MemorySourceIndex();
  const rebuild = new IndexRebuild(index, 'me');
  const hash = 'a'.repeat(64);
  rebuild.apply([
    record({ ...base('d', 1), op: 'dir', mode: 0o755 }),
    record({ ...base('d/f', 2), op: 'file', size: 3, mode: 0o644, mtimeMs: 9, hash }),
    record({ ...base('d/l', 3), op: 'symlink', target: '../x' }),
    record({ ...base('other', 4, 'someone-else'), op: 'dir', mode: 0o700 }),
  ]);
  rebuild.apply([record({ ...base('d/l', 5), op: 'delete' }), { key: 'bad\0key', value: null, headers: {} }]);
  const result = rebuild.finish();
  assert.deepEqual(result, { records: 6, entries: 2, maxSeq: 5, skipped: 2, otherSources: ['someone-else'] });
  assert.deepEqual(index.get(relPath('d/f')), {
    path: 'd/f',
    state: { kind: 'file', size: 3, mode: 0o644, mtimeMs: 9, hash },
    seq: 2,
    fingerprint: undefined,
  });
  assert.equal(index.get(relPath('d/l')), undefined);
  assert.equal(index.get(relPath('other')), undefined);
});
