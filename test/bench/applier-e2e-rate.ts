// End-to-end apply rate through the real stack (Kafka + S3 + applier in-process):
//   node --import tsx test/bench/applier-e2e-rate.ts [files] [backlog|live] [durability]
// backlog: all records are published first, then the applier starts (a new replica's
// bootstrap); live: the applier runs while the records are published; trickle: one
// record every 20 ms (latency of a quiet system; use a few hundred files).
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { encodeRecord } from '../../schemas/codec.ts';
import { applierConfigSchema } from '../../schemas/config.ts';
import type { MirrorEvent } from '../../schemas/event.ts';
import { directoryPartitioner } from '../../schemas/partitioner.ts';
import { relPath } from '../../schemas/rel-path.ts';
import { startApplier } from '../../services/applier/applier.ts';
import { ensureTopic } from '../../services/shared/kafka.ts';
import { S3ContentStore } from '../../services/shared/s3-content-store.ts';
import { stackConfig, stackServiceConfig, stackStoreOptions } from '../helpers/stack.ts';

const files = Number(process.argv[2] ?? 20_000);
const mode = process.argv[3] ?? 'backlog';
const durability = process.argv[4] ?? 'syncfs';
const PARTITIONS = 12;
const DIRS = Math.max(1, Math.floor(files / 100));
const { brokers } = stackConfig();
const topic = `bench-${randomUUID()}`;
const prefix = `bench-${randomUUID()}/`;
const dir = mkdtempSync(join(tmpdir(), 'mirrorlog-bench-'));
const kafka = new Kafka({ clientId: 'bench', brokers, logLevel: logLevel.NOTHING });
const admin = kafka.admin();
await admin.connect();
await ensureTopic(admin, { topic, partitions: PARTITIONS, historyWindowMs: 3600_000, replicationFactor: 1 });
const store = new S3ContentStore(stackStoreOptions({ prefix }));
await store.ensureBucket();

let seq = Date.now() * 1000;
const list: MirrorEvent[] = [];
for (let d = 0; d < DIRS; d++)
  list.push({ source: 'bench', seq: seq++, ts: Date.now(), op: 'dir', path: relPath(`d${d}`), mode: 0o755 });
const uploads: Promise<void>[] = [];
let next = 0;
const blobs: Buffer[] = [];
for (let i = 0; i < files; i++) blobs.push(randomBytes(200 + Math.floor(Math.random() * 4000)));
const uploadStarted = performance.now();
await Promise.all(
  Array.from({ length: 32 }, async () => {
    while (next < files) {
      const i = next++;
      const data = blobs[i]!;
      await store.putBuffer(createHash('sha256').update(data).digest('hex'), data);
    }
  }),
);
void uploads;
console.error(`uploaded ${files} objects in ${((performance.now() - uploadStarted) / 1000).toFixed(1)} s`);
for (let i = 0; i < files; i++) {
  const data = blobs[i]!;
  list.push({
    source: 'bench',
    seq: seq++,
    ts: Date.now(),
    op: 'file',
    path: relPath(`d${i % DIRS}/f${i}.html`),
    size: data.length,
    mode: 0o644,
    mtimeMs: 1_700_000_000_000 + i,
    hash: createHash('sha256').update(data).digest('hex'),
  });
}
const producer = kafka.producer({ createPartitioner: directoryPartitioner, allowAutoTopicCreation: false });
await producer.connect();
const publish = async () => {
  for (let i = 0; i < list.length; i += 1000) {
    const chunk = list
      .slice(i, i + 1000)
      .map((event) => ({ ...encodeRecord(event.op === 'delete' ? event : { ...event, ts: Date.now() }) }));
    await producer.send({ topic, acks: -1, messages: chunk });
  }
};
const target = join(dir, 'replica');
const config = applierConfigSchema.parse({
  ...stackServiceConfig(),
  topic,
  partitions: PARTITIONS,
  s3Prefix: prefix,
  target,
  replica: 'bench',
  stateDir: join(dir, 'state'),
  durability,
});
if (mode === 'backlog') await publish();
const started = performance.now();
const cpuBefore = process.cpuUsage();
const window = Number(process.env['BENCH_PREFETCH_WINDOW'] ?? 2048);
const applier = await startApplier(config, { logger: pino({ level: 'warn' }), tuning: { prefetchWindow: window } });
if (mode === 'live') await publish();
if (mode === 'trickle') {
  await new Promise((resolve) => setTimeout(resolve, 3000)); // let the group settle
  for (const event of list) {
    await producer.send({
      topic,
      acks: -1,
      messages: [encodeRecord(event.op === 'delete' ? event : { ...event, ts: Date.now() })],
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
// Applied file events, from the applier's own counter (walking the tree would cost more than applying it).
const count = async () => {
  const metric = await applier.registry.getSingleMetric('mirrorlog_applier_events_total')!.get();
  return metric.values
    .filter((v) => v.labels['op'] === 'file' && v.labels['outcome'] === 'applied')
    .reduce((sum, v) => sum + v.value, 0);
};
while ((await count()) < files) await new Promise((resolve) => setTimeout(resolve, 100));
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
const cpuPerFile = { userUs: Math.round(cpu.user / files), systemUs: Math.round(cpu.system / files) };
if (readdirSync(join(target, 'd0')).length !== Math.ceil(files / DIRS)) throw new Error('d0 is incomplete');
const latency = (await applier.registry.getSingleMetricAsString('mirrorlog_applier_apply_latency_seconds'))
  .split('\n')
  .filter((l) => /_(sum|count)\{|le="0\.(05|1|25|5)"/.test(l))
  .map((l) => l.replace(/mirrorlog_applier_apply_latency_seconds_|,?service="applier"/g, ''));
console.log(
  JSON.stringify({
    files,
    mode,
    durability,
    seconds: Number(seconds.toFixed(2)),
    filesPerSecond: Math.round(files / seconds),
    cpuPerFile,
    latency,
  }),
);
await applier.stop();
await producer.disconnect();
await admin.deleteTopics({ topics: [topic, `${topic}.dlq.bench`] }).catch(() => undefined);
await admin.disconnect();
store.close();
rmSync(dir, { recursive: true, force: true });
