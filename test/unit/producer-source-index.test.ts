import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MemorySourceIndex } from '../../services/producer/adapters/memory-source-index.ts';
import { SqliteSourceIndex } from '../../services/producer/adapters/sqlite-source-index.ts';
import { testSourceIndex } from '../helpers/source-index-contract.ts';

testSourceIndex('memory', () => ({ index: new MemorySourceIndex() }));
testSourceIndex('sqlite', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mirrorlog-source-index-'));
  return {
    index: new SqliteSourceIndex(path.join(dir, 'index.db')),
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
});
