import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, it } from 'node:test';
import { ContentMismatchError, HashCheckingStream } from '../../services/shared/content-store.ts';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** Pipes `chunks` through a HashCheckingStream; returns what came out, and the error if any. */
async function run(chunks: Buffer[], hash: string, size: number): Promise<{ received: Buffer; error: unknown }> {
  const received: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      received.push(chunk);
      callback();
    },
  });
  let error: unknown;
  await pipeline(Readable.from(chunks), new HashCheckingStream(hash, size), sink).catch(
    (caught: unknown) => (error = caught),
  );
  return { received: Buffer.concat(received), error };
}

describe('HashCheckingStream', () => {
  const chunks = [Buffer.from('hello '), Buffer.from('big '), Buffer.from('world')];
  const whole = Buffer.concat(chunks);

  it('passes matching content through unchanged', async () => {
    const { received, error } = await run(chunks, sha256(whole), whole.length);
    assert.equal(error, undefined);
    assert.deepEqual(received, whole);
  });

  it('fails on a different hash without ever releasing the last chunk', async () => {
    const { received, error } = await run(chunks, sha256(Buffer.from('something else')), whole.length);
    assert.ok(error instanceof ContentMismatchError);
    assert.equal(error.actualHash, sha256(whole));
    assert.ok(received.length < whole.length, 'the consumer never saw the complete bytes');
  });

  it('fails as soon as more bytes arrive than announced', async () => {
    const { error } = await run(chunks, sha256(whole), 8);
    assert.ok(error instanceof ContentMismatchError);
    assert.equal(error.actualSize, 10);
  });

  it('fails when fewer bytes arrive than announced', async () => {
    const { error } = await run(chunks, sha256(whole), whole.length + 1);
    assert.ok(error instanceof ContentMismatchError);
    assert.equal(error.actualSize, whole.length);
  });
});
