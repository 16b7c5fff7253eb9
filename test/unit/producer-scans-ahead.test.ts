import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Scan } from '../../services/producer/ports/source-tree.ts';
import { ScansAhead } from '../../services/producer/scans-ahead.ts';

function tree() {
  const started: string[] = [];
  return {
    started,
    scanAsync: (dir: string): Promise<Scan> => {
      started.push(dir);
      return dir === 'fails' ? Promise.reject(new Error('EIO')) : Promise.resolve({ status: 'ok', entries: [] });
    },
  };
}

test('the next directories on the stack are scanned ahead, a window of them, each once', async () => {
  const t = tree();
  const pending = ['a', 'b', 'c', 'd', 'e'];
  const scans = new ScansAhead(t, pending, 3);
  scans.refill();
  assert.deepEqual(t.started, ['e', 'd', 'c'], 'the top of the stack first');
  scans.refill();
  assert.deepEqual(t.started, ['e', 'd', 'c'], 'not twice');
  const dir = pending.pop()!;
  await scans.take(dir);
  pending.push('e/1', 'e/2');
  scans.refill();
  assert.deepEqual(t.started, ['e', 'd', 'c', 'e/2', 'e/1'], 'subdirectories pushed on top are scanned next');
  await scans.take('b');
  assert.equal(t.started.at(-1), 'b', 'a directory not scanned ahead is scanned when taken');
});

test('scans started ahead and not taken are abandoned without an unhandled rejection', async () => {
  const t = tree();
  const scans = new ScansAhead(t, ['fails'], 2);
  scans.refill();
  scans.abandon();
  await new Promise((resolve) => setImmediate(resolve));
  await assert.rejects(scans.take('fails'), /EIO/, 'taken again after abandoning: a new scan');
});
