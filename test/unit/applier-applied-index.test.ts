// The ReplicaIndex contract, against memory and against SQLite in a temp directory.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryAppliedIndex } from '../../services/applier/adapters/memory-applied-index.ts';
import { SqliteAppliedIndex } from '../../services/applier/adapters/sqlite-applied-index.ts';
import { testReplicaIndex } from '../helpers/applied-index-contract.ts';

testReplicaIndex('memory', () => ({ index: new MemoryAppliedIndex() }));

testReplicaIndex(
  'sqlite',
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'mirrorlog-index-'));
    let index = new SqliteAppliedIndex(join(dir, 'index.sqlite'));
    return {
      index,
      reopen: () => {
        index.close();
        index = new SqliteAppliedIndex(join(dir, 'index.sqlite'));
        return index;
      },
      cleanup: () => {
        index.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
  { durable: true },
);

test('a second SQLite index on the same file is refused while the first is open', () => {
  const dir = mkdtempSync(join(tmpdir(), 'mirrorlog-index-'));
  const first = new SqliteAppliedIndex(join(dir, 'index.sqlite'));
  try {
    assert.throws(() => new SqliteAppliedIndex(join(dir, 'index.sqlite')), /locked|busy/i);
  } finally {
    first.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
