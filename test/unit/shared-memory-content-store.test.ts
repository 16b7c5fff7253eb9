import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MemoryContentStore } from '../../services/shared/memory-content-store.ts';
import { sha256, testContentStore } from '../helpers/content-store-contract.ts';

testContentStore('memory', async () => ({ store: new MemoryContentStore() }));

describe('MemoryContentStore', () => {
  it('stamps objects with the injected clock', async () => {
    const now = new Date('2024-05-01T12:00:00Z');
    const store = new MemoryContentStore({ now: () => now });
    const data = Buffer.from('clocked');
    await store.putBuffer(sha256(data), data);
    const listed = [];
    for await (const item of store.list()) listed.push(item);
    assert.deepEqual(listed, [{ hash: sha256(data), size: data.length, lastModified: now }]);
    assert.equal(store.size, 1);
  });
});
