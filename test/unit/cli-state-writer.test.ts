import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { relPath } from '../../schemas/rel-path.ts';
import type { MirrorEvent } from '../../schemas/event.ts';
import { StateWriter } from '../../services/cli/state-writer.ts';
import { ContentMissingError, sha256Hex } from '../../services/shared/content-store.ts';
import { MemoryContentStore } from '../../services/shared/memory-content-store.ts';

/** A store that answers "missing" for the first `misses` reads of each object, as an overloaded server can. */
class FlakyStore extends MemoryContentStore {
  readonly reads = new Map<string, number>();
  constructor(private readonly misses: number) {
    super();
  }
  #miss(hash: string): void {
    const n = (this.reads.get(hash) ?? 0) + 1;
    this.reads.set(hash, n);
    if (n <= this.misses) throw new ContentMissingError(hash);
  }
  override async getBuffer(hash: string, maxBytes: number): Promise<Buffer> {
    this.#miss(hash);
    return super.getBuffer(hash, maxBytes);
  }
  override async getToFile(hash: string, filePath: string): Promise<{ size: number }> {
    this.#miss(hash);
    return super.getToFile(hash, filePath);
  }
}

function target(t: TestContext): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'state-writer-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.mkdirSync(path.join(dir, 'tree'));
  return path.join(dir, 'tree');
}

async function fileEntry(store: MemoryContentStore, name: string, data: Buffer): Promise<MirrorEvent> {
  const hash = sha256Hex(data);
  await store.putBuffer(hash, data);
  return {
    source: 's',
    seq: 1,
    ts: 0,
    path: relPath(name),
    op: 'file',
    size: data.length,
    mode: 0o644,
    mtimeMs: 0,
    hash,
  };
}

test('content the store says it lacks is asked for again, with growing waits, small and staged alike', async (t) => {
  const store = new FlakyStore(2);
  const small = Buffer.from('small');
  const large = Buffer.alloc(9 * 1024 * 1024, 7); // above the in-memory limit: staged in a file
  const entries = [await fileEntry(store, 'small', small), await fileEntry(store, 'large', large)];
  const waits: number[] = [];
  const warnings: string[] = [];
  const dir = target(t);
  const writer = new StateWriter(dir, store, {
    concurrency: 1,
    missingRetry: { delay: async (ms) => void waits.push(ms) },
    logger: { warn: (_fields: object, message: string) => void warnings.push(message) },
  });
  t.after(() => writer.close());
  await writer.write(entries);
  assert.deepEqual(fs.readFileSync(path.join(dir, 'small')), small);
  assert.ok(fs.readFileSync(path.join(dir, 'large')).equals(large));
  assert.deepEqual(waits, [500, 1000, 500, 1000]);
  assert.equal(warnings.length, 4);
  assert.match(warnings[0]!, /asking again/);
});

test('content still missing after the retries fails the write with ContentMissingError', async (t) => {
  const store = new FlakyStore(Number.POSITIVE_INFINITY);
  const entry = await fileEntry(store, 'gone', Buffer.from('gone'));
  const waits: number[] = [];
  const writer = new StateWriter(target(t), store, { missingRetry: { delay: async (ms) => void waits.push(ms) } });
  t.after(() => writer.close());
  await assert.rejects(writer.write([entry]), ContentMissingError);
  assert.deepEqual(waits, [500, 1000, 2000, 4000]);
  assert.equal(store.reads.get((entry as { hash: string }).hash), 5);
});
