// Healing across restarts (issue 20, M3): an applier that found content missing in the
// store asks the producer side for it, and keeps asking after a restart until it has it.
// Real processes on the default stack (nothing is stopped but the services):
//  1. the producer publishes a file and stops; the store then loses the file's object;
//  2. an applier dead-letters the record, asks for the content (no producer answers),
//     and is stopped;
//  3. the request is lost on the producer side: its heal group is moved past it, as if
//     the responder had taken it and could not answer (its store down, a crash);
//  4. producer and applier start again: the applier asks once more for what it still
//     lacks, the producer uploads it from the source, and the replica converges.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { contentKey, healTopic } from '../../schemas/content-key.ts';
import { healGroup } from '../../services/producer/heal-responder.ts';
import { tempDir } from '../helpers/producer.ts';
import { applierArgs, producerArgs, startService, type ServiceProcess } from '../helpers/services.ts';
import { freshPrefix, freshTopic, kafkaAdmin, minioClient, stackConfig, waitFor } from '../helpers/stack.ts';
import { readTopic } from '../helpers/topic.ts';

const readOrUndefined = (path: string) => {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
};

async function stopped(service: ServiceProcess): Promise<void> {
  assert.equal(await service.kill('SIGTERM'), 0, `${service.name} stopped cleanly`);
}

test('a heal request lost while the applier restarts is asked again, and the replica converges', async (t) => {
  const stack = stackConfig();
  const source = tempDir(t, 'source');
  const replica = tempDir(t, 'replica');
  const producerState = tempDir(t, 'pstate');
  const applierState = tempDir(t, 'astate');
  const topic = freshTopic(t);
  const prefix = freshPrefix();
  const startProducer = async () => {
    const producer = await startService(t, 'producer', producerArgs(source, producerState, topic, prefix));
    await producer.waitReady();
    return producer;
  };
  const startApplier = async () => {
    const applier = await startService(t, 'applier', applierArgs(replica, applierState, 'healer', topic, prefix));
    await applier.waitReady();
    return applier;
  };

  // 1. Published through the store (above the inline limit), then lost by the store.
  const producer = await startProducer();
  mkdirSync(join(source, 'a'));
  const content = randomBytes(64 * 1024);
  writeFileSync(join(source, 'a/big.bin'), content);
  writeFileSync(join(source, 'a/small.txt'), 'small');
  const published = await waitFor(
    'the file event in the topic',
    async () => (await readTopic(topic)).find((e) => e.path === 'a/big.bin' && e.op === 'file'),
    60_000,
    500,
  );
  assert.ok(published.op === 'file' && published.data === undefined, 'the content went through the store');
  await stopped(producer);
  const minio = minioClient(t);
  const key = contentKey(published.hash, prefix);
  await minio.removeObject(stack.bucket, key);

  // 2. The applier finds it missing and asks; nobody answers.
  const first = await startApplier();
  await waitFor(
    'the applier to ask for the content',
    async () => ((await first.metric('mirrorlog_applier_heal_waiting')) === 1 ? true : undefined),
    60_000,
    250,
  );
  assert.equal(readOrUndefined(join(replica, 'a/small.txt'))?.toString(), 'small');
  assert.equal(readOrUndefined(join(replica, 'a/big.bin')), undefined, 'the file is not in the replica yet');
  await stopped(first);

  // 3. The request is lost on the producer side.
  const admin = await kafkaAdmin(t);
  const group = healGroup(topic, 'e2e'); // producerArgs' source
  const high = await admin.fetchTopicOffsets(healTopic(topic));
  await admin.setOffsets({
    groupId: group,
    topic: healTopic(topic),
    partitions: high.map((p) => ({ partition: p.partition, offset: p.high })),
  });
  const passed = await admin.fetchOffsets({ groupId: group, topics: [healTopic(topic)] });
  assert.deepEqual(
    passed[0]!.partitions.map((p) => p.offset),
    high.map((p) => p.high),
    'the heal group is past every request',
  );
  assert.ok(Number(high[0]!.high) >= 1, 'the applier sent a request');

  // 4. Both again: the applier asks once more, the producer answers, the replica converges.
  await startProducer();
  const second = await startApplier();
  await waitFor(
    'the file in the replica',
    () => (readOrUndefined(join(replica, 'a/big.bin'))?.equals(content) ? true : undefined),
    120_000,
    250,
  );
  await minio.statObject(stack.bucket, key);
  await waitFor(
    'no heal wait left',
    async () => ((await second.metric('mirrorlog_applier_heal_waiting')) === 0 ? true : undefined),
    30_000,
    250,
  );
});
