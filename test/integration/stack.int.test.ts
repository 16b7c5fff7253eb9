// Round trips through the real local stack: Kafka consumer groups, S3 objects, and the
// stack's own health report. scripts/run-tests.mjs brings the stack up for this tier.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { stackStatus } from '../../infra/stack/index.ts';
import {
  createTopic,
  freshPrefix,
  kafkaAdmin,
  kafkaConsumer,
  kafkaProducer,
  minioClient,
  readAll,
  stackConfig,
  waitFor,
} from '../helpers/stack.ts';

const execFileAsync = promisify(execFile);
const CLI = fileURLToPath(new URL('../../bin/mirrorlog.js', import.meta.url));

test('kafka: a record produced is consumed and committed by a consumer group', async (t) => {
  const topic = await createTopic(t, {
    numPartitions: 3,
    configEntries: [{ name: 'cleanup.policy', value: 'compact' }],
  });
  const producer = await kafkaProducer(t, { idempotent: true, maxInFlightRequests: 1 });
  const [sent] = await producer.send({
    topic,
    acks: -1,
    messages: [{ key: 'dir/a.txt', value: '{"kind":"written"}', headers: { v: '1' } }],
  });
  assert.ok(sent !== undefined && sent.errorCode === 0);

  const groupId = `test-group-${topic}`;
  const consumer = await kafkaConsumer(t, { groupId });
  await consumer.subscribe({ topics: [topic], fromBeginning: true });
  const received: Array<{ key: string; value: string; v: string; partition: number; offset: string }> = [];
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ partition, message }) => {
      received.push({
        key: message.key?.toString() ?? '',
        value: message.value?.toString() ?? '',
        v: message.headers?.v?.toString() ?? '',
        partition,
        offset: message.offset,
      });
      await consumer.commitOffsets([{ topic, partition, offset: String(BigInt(message.offset) + 1n) }]);
    },
  });
  const record = await waitFor('the record to be consumed', () => received[0], 60_000);
  assert.deepEqual(
    { key: record.key, value: record.value, v: record.v, partition: record.partition },
    { key: 'dir/a.txt', value: '{"kind":"written"}', v: '1', partition: sent.partition },
  );

  const admin = await kafkaAdmin(t);
  const committed = await waitFor('the offset commit to be visible', async () => {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const mine = offsets?.partitions.find((p) => p.partition === record.partition);
    return mine?.offset === String(BigInt(record.offset) + 1n) ? mine.offset : undefined;
  });
  assert.equal(committed, String(BigInt(record.offset) + 1n));
});

test('s3: an object put is stated and read back intact', async (t) => {
  const s3 = minioClient(t);
  const { bucket } = stackConfig();
  const key = `${freshPrefix()}sha256/${'ab'.repeat(32)}`;
  const body = Buffer.from(`hello from ${key}\n`.repeat(100));
  const sha = createHash('sha256').update(body).digest('hex');
  t.after(() => s3.removeObject(bucket, key).catch(() => undefined));

  await s3.putObject(bucket, key, body, body.length, {
    'Content-Type': 'application/octet-stream',
    'x-amz-meta-sha256': sha,
  });
  const stat = await s3.statObject(bucket, key);
  assert.equal(stat.size, body.length);
  assert.equal(stat.metaData.sha256, sha);

  const back = await readAll(await s3.getObject(bucket, key));
  assert.equal(createHash('sha256').update(back).digest('hex'), sha);
});

test('s3: anonymous requests are refused', async () => {
  const { s3Endpoint, bucket } = stackConfig();
  const list = await fetch(`${s3Endpoint}/${bucket}?list-type=2`);
  assert.equal(list.status, 403);
  const put = await fetch(`${s3Endpoint}/${bucket}/${freshPrefix()}anonymous`, { method: 'PUT', body: 'x' });
  assert.equal(put.status, 403);
});

test('stack status reports both servers healthy', async () => {
  const status = await stackStatus();
  assert.equal(status.healthy, true, JSON.stringify(status.servers));
  assert.equal(status.servers.kafka.healthy, true);
  assert.equal(status.servers.s3.healthy, true);

  const { stdout } = await execFileAsync(process.execPath, [CLI, 'stack', 'status', '--json']);
  const fromCli = JSON.parse(stdout) as {
    healthy: boolean;
    servers: Record<string, { healthy: boolean; endpoint: string }>;
  };
  assert.equal(fromCli.healthy, true);
  assert.equal(fromCli.servers.kafka?.endpoint, stackConfig().brokers[0]);
  assert.equal(fromCli.servers.s3?.endpoint, stackConfig().s3Endpoint);
});

test('stack: a bad flag is a usage error that names it', async () => {
  const failed = await execFileAsync(process.execPath, [CLI, 'stack', 'status', '--jsn']).then(
    () => undefined,
    (error: { code: number; stderr: string }) => error,
  );
  assert.ok(failed !== undefined, 'expected a non-zero exit');
  assert.equal(failed.code, 2);
  assert.match(failed.stderr, /--jsn/);
});
