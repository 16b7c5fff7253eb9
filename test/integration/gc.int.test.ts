// `mirrorlog gc` against the real stack: what a retained record references stays (even a
// superseded or deleted file's content, which restore --at may need); unreferenced
// content goes once it is older than the grace period, and not before.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { encodeRecord } from '../../schemas/codec.ts';
import type { MirrorEvent } from '../../schemas/event.ts';
import { relPath } from '../../schemas/rel-path.ts';
import type { GcReport } from '../../services/cli/gc.ts';
import { S3ContentStore } from '../../services/shared/s3-content-store.ts';
import { defer } from '../helpers/cleanup.ts';
import { runCli, stackFlags } from '../helpers/services.ts';
import { createTopic, freshPrefix, kafkaProducer, stackStoreOptions } from '../helpers/stack.ts';

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
let seq = 1;
const file = (path: string, data: Buffer, inline = false): MirrorEvent => ({
  source: 'gc-test',
  seq: seq++,
  ts: Date.now(),
  path: relPath(path),
  op: 'file',
  size: data.length,
  mode: 0o644,
  mtimeMs: 1,
  hash: sha256(data),
  ...(inline ? { data } : {}),
});

test(
  'gc keeps every content a retained record references ' + 'and deletes the rest once past the grace period',
  async (t) => {
    const topic = await createTopic(t, { numPartitions: 3 });
    const prefix = freshPrefix();
    const store = new S3ContentStore(stackStoreOptions({ prefix }));
    defer(t, async () => {
      for await (const object of store.list()) await store.remove(object.hash);
      store.close();
    });
    const content = {
      live: Buffer.from('the current version of a video'),
      superseded: Buffer.from('the previous version of it'),
      deleted: Buffer.from('a file deleted since'),
      orphan: Buffer.from('stored, never published'),
    };
    for (const data of Object.values(content)) await store.putBuffer(sha256(data), data);

    const producer = await kafkaProducer(t);
    const records = [
      file('v/clip.mp4', content.superseded),
      file('v/clip.mp4', content.live),
      file('old/gone.mp4', content.deleted),
      { source: 'gc-test', seq: seq++, ts: Date.now(), path: relPath('old/gone.mp4'), op: 'delete' } as MirrorEvent,
      file('small.txt', Buffer.from('inline'), true),
    ].map(encodeRecord);
    await producer.send({ topic, acks: -1, messages: records });

    const gc = async (...extra: string[]) => {
      const result = await runCli(['gc', ...stackFlags(topic, prefix), '--json', '--log-level', 'warn', ...extra]);
      assert.equal(result.code, 0, result.stderr);
      return JSON.parse(result.stdout) as GcReport;
    };
    const present = async () => {
      const hashes = new Set<string>();
      for await (const object of store.list()) hashes.add(object.hash);
      return Object.entries(content)
        .filter(([, data]) => hashes.has(sha256(data)))
        .map(([name]) => name)
        .sort();
    };

    const young = await gc();
    assert.deepEqual(
      [young.records, young.objects.count, young.referenced.count, young.young.count, young.garbage.count],
      [5, 4, 3, 1, 0],
    );
    assert.deepEqual(await present(), ['deleted', 'live', 'orphan', 'superseded']);

    const dry = await gc('--grace', '0', '--force', '--dry-run');
    assert.deepEqual([dry.garbage.count, dry.deleted.count], [1, 0]);
    assert.deepEqual(await present(), ['deleted', 'live', 'orphan', 'superseded']);

    const real = await gc('--grace', '0', '--force');
    assert.deepEqual([real.garbage.count, real.deleted.count, real.deleted.bytes], [1, 1, content.orphan.length]);
    assert.deepEqual(await present(), ['deleted', 'live', 'superseded']);
  },
);
