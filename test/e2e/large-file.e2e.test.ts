// A 1 GiB file through each S3 server the stack runs, SeaweedFS and MinIO (issue 18): it
// travels as a multipart upload (the object's ETag says how many parts), arrives
// byte-exact, and neither the producer nor the applier ever holds it in memory: their peak
// resident memory (VmHWM) stays far below the file's size and is printed with the result.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { contentKey } from '../../schemas/content-key.ts';
import { privateStack } from '../helpers/private-stack.ts';
import { tempDir } from '../helpers/producer.ts';
import { applierArgs, producerArgs, startService } from '../helpers/services.ts';
import { freshPrefix, freshTopic, minioClient, stackConfig, waitFor, type StackConfig } from '../helpers/stack.ts';

const MiB = 1024 * 1024;
const FILE_BYTES = 1024 * MiB;
/** Far below the file: a service that buffered it whole would be over 1 GiB. */
const MEMORY_BOUND_BYTES = 400 * MiB;

/** 1 GiB of pseudo-random bytes (a 1 MiB block, varied per MiB), written without holding it. */
function writeLargeFile(file: string): string {
  const hash = createHash('sha256');
  const block = Buffer.alloc(MiB);
  let x = 0x9e3779b9;
  for (let i = 0; i < MiB; i += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    block.writeUInt32LE(x >>> 0, i);
  }
  const fd = fs.openSync(file, 'w');
  try {
    for (let m = 0; m < FILE_BYTES / MiB; m += 1) {
      block.writeUInt32LE(m, 0); // each MiB differs, so no part is a copy of another
      fs.writeSync(fd, block);
      hash.update(block);
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

function sha256File(file: string): string {
  const hash = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buffer = Buffer.alloc(8 * MiB);
  try {
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, buffer.length, null);
      if (n === 0) break;
      hash.update(buffer.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest('hex');
}

function vmHwmBytes(pid: number): number {
  const line = fs
    .readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmHWM:'));
  assert.ok(line !== undefined, `no VmHWM for pid ${pid}`);
  return Number(/(\d+)\s*kB/.exec(line)![1]) * 1024;
}

async function oneGibThrough(t: TestContext, server: string, stack: StackConfig): Promise<void> {
  const source = tempDir(t, 'source');
  const replica = tempDir(t, 'replica');
  const topic = freshTopic(t);
  const prefix = freshPrefix();
  const producer = await startService(t, 'producer', producerArgs(source, tempDir(t, 'pstate'), topic, prefix, stack));
  await producer.waitReady();
  const applier = await startService(
    t,
    'applier',
    applierArgs(replica, tempDir(t, 'astate'), 'large', topic, prefix, stack),
  );
  await applier.waitReady();

  const began = Date.now();
  const hash = writeLargeFile(path.join(source, 'one-gib.bin'));
  const arrived = path.join(replica, 'one-gib.bin');
  // The applier renames a verified file into place: its full size under the final name means it is done.
  await waitFor(
    `${server}: the 1 GiB file in the replica`,
    () => (fs.existsSync(arrived) && fs.statSync(arrived).size === FILE_BYTES ? true : undefined),
    900_000,
    500,
  );
  const seconds = (Date.now() - began) / 1000;
  assert.equal(sha256File(arrived), hash, `${server}: the replica's bytes`);

  const object = await minioClient(t, stack).statObject(stack.bucket, contentKey(hash, prefix));
  assert.equal(object.size, FILE_BYTES);
  const parts = /-(\d+)$/.exec(object.etag)?.[1];
  assert.ok(parts !== undefined && Number(parts) > 1, `${server}: a multipart upload (ETag ${object.etag})`);

  const memory = { producer: vmHwmBytes(producer.child.pid!), applier: vmHwmBytes(applier.child.pid!) };
  t.diagnostic(
    `${server}: 1 GiB in ${seconds.toFixed(1)} s (${(1024 / seconds).toFixed(0)} MiB/s), ${parts} parts; ` +
      `VmHWM producer ${(memory.producer / MiB).toFixed(0)} MiB, applier ${(memory.applier / MiB).toFixed(0)} MiB`,
  );
  assert.ok(memory.producer < MEMORY_BOUND_BYTES, `producer VmHWM ${memory.producer} bytes`);
  assert.ok(memory.applier < MEMORY_BOUND_BYTES, `applier VmHWM ${memory.applier} bytes`);
}

test('a 1 GiB file through SeaweedFS: multipart, byte-exact, bounded memory', { timeout: 960_000 }, async (t) => {
  await oneGibThrough(t, 'SeaweedFS', stackConfig());
});

test('a 1 GiB file through MinIO: multipart, byte-exact, bounded memory', { timeout: 960_000 }, async (t) => {
  const stack = await privateStack(t, 'minio-large', { servers: ['s3'], s3Server: 'minio' });
  // Kafka stays the default stack's; only S3 is this instance's.
  await oneGibThrough(t, 'MinIO', { ...stack.config, brokers: stackConfig().brokers });
});
