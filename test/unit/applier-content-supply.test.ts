// ContentSupply against the memory content store and local files: verified content
// only, local copies preferred, falling back to the store when a local copy lies.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import {
  ContentSupply,
  type ContentOutcome,
  type ContentSupplyOptions,
} from '../../services/applier/adapters/content-supply.ts';
import { TargetRoot } from '../../services/applier/adapters/target-root.ts';
import type { ContentStore } from '../../services/shared/content-store.ts';
import { MemoryContentStore } from '../../services/shared/memory-content-store.ts';
import { waitFor } from '../helpers/wait.ts';

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const silent = { warn: () => undefined, debug: () => undefined };

let dir: string;
let store: MemoryContentStore;
let acquired: string[];
let staged = 0;

function supply(overrides: Partial<ContentSupplyOptions> = {}, settled: () => void = () => undefined): ContentSupply {
  return new ContentSupply({
    store,
    localCandidates: () => [],
    openLocal: () => undefined,
    stagingPath: () => join(dir, `staged-${staged++}`),
    concurrency: 4,
    maxBufferedBytes: 1024,
    largeThreshold: 100,
    missingRetries: 2,
    missingDelayMs: 1,
    logger: silent,
    onSettled: settled,
    onAcquired: (source) => acquired.push(source),
    ...overrides,
  });
}

async function settledOutcome(content: ContentSupply, key: string): Promise<ContentOutcome> {
  for (let i = 0; i < 500; i++) {
    const outcome = content.outcome(key);
    if (outcome.kind !== 'pending') return outcome;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
  throw new Error('content never settled');
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'mirrorlog-supply-'));
  store = new MemoryContentStore();
  acquired = [];
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('ContentSupply', () => {
  it('downloads and verifies small content into memory', async () => {
    const data = Buffer.from('hello');
    await store.putBuffer(sha(data), data);
    const content = supply();
    const key = content.want(sha(data), data.length);
    const outcome = await settledOutcome(content, key);
    assert.deepEqual(outcome, { kind: 'ready', content: { kind: 'buffer', data } });
    assert.deepEqual(acquired, ['store']);
    assert.equal(content.heldBytes, 5);
    content.release(key);
    assert.equal(content.heldBytes, 0);
  });

  it('prefers a local copy, and falls back to the store when the local file does not hold the content', async () => {
    const data = Buffer.from('renamed file');
    await store.putBuffer(sha(data), data);
    writeFileSync(join(dir, 'good'), data);
    writeFileSync(join(dir, 'liar'), Buffer.from('changed file'));
    const root = new TargetRoot(dir);
    const openLocal = (path: string) => root.openFile(path);
    const good = supply({ localCandidates: () => ['missing', 'good'], openLocal });
    assert.deepEqual(await settledOutcome(good, good.want(sha(data), data.length)), {
      kind: 'ready',
      content: { kind: 'buffer', data },
    });
    assert.deepEqual(acquired, ['local']);
    const liar = supply({ localCandidates: () => ['liar'], openLocal });
    assert.deepEqual(await settledOutcome(liar, liar.want(sha(data), data.length)), {
      kind: 'ready',
      content: { kind: 'buffer', data },
    });
    assert.deepEqual(acquired, ['local', 'store']);
    root.close();
  });

  it('reports content whose bytes do not hash to the name as a mismatch', async () => {
    const data = Buffer.from('real');
    const wrongHash = sha(Buffer.from('claimed'));
    const lying: ContentStore = Object.assign(Object.create(store) as ContentStore, { getBuffer: async () => data });
    const content = supply({ store: lying });
    const outcome = await settledOutcome(content, content.want(wrongHash, data.length));
    assert.equal(outcome.kind, 'failed');
    assert.equal(outcome.kind === 'failed' && outcome.reason, 'content-mismatch');
  });

  it('reports content larger than the event says as a mismatch', async () => {
    const data = Buffer.from('longer than said');
    await store.putBuffer(sha(data), data);
    const content = supply();
    const outcome = await settledOutcome(content, content.want(sha(data), 3));
    assert.equal(outcome.kind === 'failed' && outcome.reason, 'content-mismatch');
  });

  it('reports missing content after a bounded retry', async () => {
    let gets = 0;
    const counting = Object.assign(Object.create(store) as ContentStore, {
      getBuffer: async (hash: string, max: number) => {
        gets++;
        return store.getBuffer(hash, max);
      },
    });
    const counted = supply({ store: counting });
    const outcome = await settledOutcome(counted, counted.want('ab'.repeat(32), 3));
    assert.equal(outcome.kind === 'failed' && outcome.reason, 'content-missing');
    assert.equal(gets, 3);
  });

  it('stages large content in a file, shared while several holders need it, removed when released', async () => {
    const data = Buffer.alloc(500, 7);
    await store.putBuffer(sha(data), data);
    const content = supply();
    const first = content.want(sha(data), data.length);
    const second = content.want(sha(data), data.length);
    const outcome = await settledOutcome(content, first);
    assert.equal(outcome.kind, 'ready');
    const file =
      outcome.kind === 'ready' && outcome.content.kind === 'file'
        ? outcome.content
        : assert.fail('expected a staged file');
    assert.equal(file.shared, true);
    assert.deepEqual(readFileSync(file.path), data);
    assert.equal(content.heldBytes, 0);
    content.release(second);
    const last = content.outcome(first);
    assert.equal(last.kind === 'ready' && last.content.kind === 'file' && last.content.shared, false);
    content.release(first);
    await waitFor('the staged file to be removed', () => (existsSync(file.path) ? undefined : true), 10_000, 5);
  });

  it('keeps buffered content under the budget, but always starts what the lane demands', async () => {
    const blobs = [0, 1, 2].map((i) => Buffer.alloc(90, i));
    for (const blob of blobs) await store.putBuffer(sha(blob), blob);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const slow = Object.assign(Object.create(store) as ContentStore, {
      getBuffer: async (hash: string, max: number) => {
        await gate;
        return store.getBuffer(hash, max);
      },
    });
    const content = supply({ store: slow, maxBufferedBytes: 100 });
    const keys = blobs.map((blob) => content.want(sha(blob), blob.length));
    assert.equal(content.heldBytes, 90, 'only the first fits the budget');
    content.demand(keys[2]!);
    assert.equal(content.heldBytes, 180, 'the demanded one starts anyway');
    release();
    assert.equal((await settledOutcome(content, keys[2]!)).kind, 'ready');
    assert.equal((await settledOutcome(content, keys[0]!)).kind, 'ready');
    content.release(keys[0]!);
    assert.equal(content.outcome(keys[1]!).kind, 'pending', 'still over budget with the demanded one held');
    content.release(keys[2]!);
    assert.equal((await settledOutcome(content, keys[1]!)).kind, 'ready');
    await content.close();
  });
});
