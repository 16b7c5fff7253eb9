// Bad records against the real stack: each one lands in the replica's dead-letter topic
// with its original key/value/headers and the reason, nothing outside the target is
// touched, and the records after them are applied.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { KafkaMessage } from 'kafkajs';
import { contentKey, deadLetterTopic } from '../../schemas/content-key.ts';
import { partitionOf } from '../../schemas/partitioner.ts';
import { DEAD_LETTER_HEADERS } from '../../services/applier/adapters/dead-letter-producer.ts';
import { replicaGroupId } from '../../schemas/names.ts';
import { describeTopicConfig } from '../../services/shared/kafka.ts';
import { PARTITIONS, applierStack, events, nextSeq } from '../helpers/applier-harness.ts';
import { kafkaAdmin, kafkaConsumer, minioClient, stackConfig, subscribeWhenKnown, waitFor } from '../helpers/stack.ts';

const header = (message: KafkaMessage, name: string) => message.headers?.[name]?.toString();

test('bad records go to the dead-letter topic, touch nothing outside, and do not stop the applier', async (t) => {
  const stack = await applierStack(t);
  const target = join(stack.dir, 'replica');
  const outside = join(stack.dir, 'outside');
  mkdirSync(outside);
  const good = await stack.put('good');

  // A directory the replica knows, then replaced on disk by a symlink leading outside.
  const applier = await stack.start(stack.config({ target, replica: 'dlq' }));
  await stack.publish([events.dir('trap')]);
  await waitFor('trap directory', () => (readdirSync(target).includes('trap') ? true : undefined));
  rmSync(join(target, 'trap'), { recursive: true });
  symlinkSync(outside, join(target, 'trap'));

  // An object stored under a hash its bytes do not have.
  const claimed = createHash('sha256').update('what the event claims').digest('hex');
  const bytes = Buffer.from('something else entirely');
  await minioClient(t).putObject(stackConfig().bucket, contentKey(claimed, stack.prefix), bytes, bytes.length);

  const headers = (seq: number) => ({ v: '1', source: 'it', seq: String(seq), ts: String(Date.now()) });
  const wire = (path: string, seq: number) =>
    JSON.stringify({
      v: 1,
      source: 'it',
      seq: String(seq),
      ts: Date.now(),
      path,
      op: 'file',
      size: good.size,
      mode: 0o644,
      mtimeMs: 0,
      hash: good.hash,
    });
  const raw = (key: string, value: string | null, seq = nextSeq()) => ({
    key,
    value,
    headers: headers(seq),
    partition: partitionOf(key.replace(/\0/g, ''), PARTITIONS),
  });
  const dotDotSeq = nextSeq();
  await stack.publishRaw([
    raw('../x', wire('../x', dotDotSeq), dotDotSeq),
    raw('/tmp/absolute-x', null),
    raw('a\0b', null),
    raw('bad-json', '{"v":1,'),
  ]);
  await stack.publish([
    events.file('trap/x', good),
    events.file('mismatch', { hash: claimed, size: bytes.length }),
    events.file('after/all/good', good, 0o600, 1_700_000_000_000),
  ]);
  await waitFor('the good record after the bad ones', () => {
    try {
      return readFileSync(join(target, 'after/all/good'), 'utf8') === 'good' ? true : undefined;
    } catch {
      return undefined;
    }
  });
  assert.deepEqual(readdirSync(outside), [], 'nothing written through the symlink');
  assert.deepEqual(readdirSync(target).sort(), ['after', 'trap']);

  const consumer = await kafkaConsumer(t);
  const dlq = deadLetterTopic(stack.topic, 'dlq');
  await subscribeWhenKnown(consumer, dlq);
  const letters: KafkaMessage[] = [];
  await consumer.run({ eachMessage: async ({ message }) => void letters.push(message) });
  await waitFor('six dead letters', () => (letters.length >= 6 ? true : undefined), 30_000);
  const byKey = new Map(letters.map((m) => [m.key?.toString(), m]));
  const expected: Record<string, string> = {
    '../x': 'invalid-key',
    '/tmp/absolute-x': 'invalid-key',
    'a\0b': 'invalid-key',
    'bad-json': 'invalid-json',
    'trap/x': 'unsafe-path',
    mismatch: 'content-mismatch',
  };
  for (const [key, code] of Object.entries(expected)) {
    const letter = byKey.get(key);
    assert.ok(letter !== undefined, `dead letter for ${JSON.stringify(key)}`);
    assert.equal(header(letter, DEAD_LETTER_HEADERS.code), code, key);
    assert.equal(header(letter, DEAD_LETTER_HEADERS.sourceTopic), stack.topic);
    assert.match(header(letter, DEAD_LETTER_HEADERS.sourceOffset) ?? '', /^\d+$/);
    assert.equal(header(letter, 'source'), 'it', 'original headers kept');
  }
  assert.equal(byKey.get('bad-json')?.value?.toString(), '{"v":1,', 'original value kept');
  assert.deepEqual(JSON.parse(byKey.get('mismatch')!.value!.toString()) as unknown, {
    ...JSON.parse(byKey.get('mismatch')!.value!.toString()),
    path: 'mismatch',
    hash: claimed,
  });

  const metrics = await (await fetch(`http://127.0.0.1:${applier.port}/metrics`)).text();
  assert.match(metrics, /mirrorlog_applier_dead_letters_total\{reason="unsafe-path",service="applier"\} 1/);
  assert.match(metrics, /mirrorlog_applier_dead_letters_total\{reason="invalid-key",service="applier"\} 3/);
});

// M8 (issue 20): a dead-letter topic with the broker's 1 MB record limit refused a larger
// bad record, which was then retried forever and pinned its partition's offsets.
test('a bad record as large as the events topic allows is dead-lettered whole; its partition moves on', async (t) => {
  const eventsMaxBytes = 12 * 1024 * 1024;
  const stack = await applierStack(t, { topicConfig: { 'max.message.bytes': String(eventsMaxBytes) } });
  const admin = await kafkaAdmin(t);
  // A dead-letter topic made before its limit followed the events topic's: the broker's default.
  const olderDlq = deadLetterTopic(stack.topic, 'older');
  await admin.createTopics({
    waitForLeaders: true,
    topics: [{ topic: olderDlq, numPartitions: 1, replicationFactor: 1 }],
  });
  assert.ok(Number((await describeTopicConfig(admin, olderDlq, ['max.message.bytes'])).get('max.message.bytes')) < 2e6);

  // Larger than mirrorlog's own floor for dead-letter topics (8 MiB and some): only the events topic's limit fits it.
  const hugeBytes = 10 * 1024 * 1024;
  const good = await stack.put('after the huge one');
  const partition = partitionOf('huge', PARTITIONS);
  await stack.publishRaw([
    { key: 'huge', value: Buffer.alloc(hugeBytes, 'x'), headers: { v: '1', seq: String(nextSeq()) }, partition },
  ]);
  await stack.publish([events.file('after-huge', good)]);
  assert.equal(partitionOf('after-huge', PARTITIONS), partition, 'the good record comes after, on the same partition');
  const replicas = ['fresh', 'older'];
  for (const replica of replicas) await stack.start(stack.config({ target: join(stack.dir, replica), replica }));

  for (const replica of replicas) {
    await waitFor(`${replica}: the record after the huge one`, () => {
      try {
        return readFileSync(join(stack.dir, replica, 'after-huge'), 'utf8') === 'after the huge one' ? true : undefined;
      } catch {
        return undefined;
      }
    });
    const dlq = deadLetterTopic(stack.topic, replica);
    const limit = Number((await describeTopicConfig(admin, dlq, ['max.message.bytes'])).get('max.message.bytes'));
    assert.ok(limit >= eventsMaxBytes, `${replica}: the dead-letter topic takes ${limit} bytes`);
    const consumer = await kafkaConsumer(t);
    await subscribeWhenKnown(consumer, dlq);
    const letters: KafkaMessage[] = [];
    await consumer.run({ eachMessage: async ({ message }) => void letters.push(message) });
    await waitFor(`${replica}: the dead letter`, () => (letters.length >= 1 ? true : undefined), 30_000);
    await consumer.stop();
    assert.equal(letters.length, 1);
    const [letter] = letters as [KafkaMessage];
    assert.equal(header(letter, DEAD_LETTER_HEADERS.code), 'too-large');
    assert.equal(header(letter, DEAD_LETTER_HEADERS.valueOmitted), undefined, `${replica}: the value was kept`);
    assert.equal(letter.value?.length, hugeBytes, `${replica}: the whole value`);
    // Nothing pins the partition: the group's offset moves past both records.
    const high = Number((await admin.fetchTopicOffsets(stack.topic)).find((p) => p.partition === partition)!.high);
    await waitFor(`${replica}: the committed offset past the huge record`, async () => {
      const [offsets] = await admin.fetchOffsets({
        groupId: replicaGroupId(stack.topic, replica),
        topics: [stack.topic],
      });
      return Number(offsets!.partitions.find((p) => p.partition === partition)?.offset) === high ? true : undefined;
    });
  }
});
