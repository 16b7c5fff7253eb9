// kill -9 at random moments of a 10,000-file burst, several times: after restarts the
// replica converges with nothing missing, nothing torn, no temporary file left visible.
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { waitForReplica } from '../helpers/converge.ts';
import { tempDir } from '../helpers/producer.ts';
import { applierArgs, producerArgs, startService, type ServiceProcess } from '../helpers/services.ts';
import { freshPrefix, freshTopic, waitFor } from '../helpers/stack.ts';
import { prng } from '../helpers/workload.ts';

/** Writes the burst in chunks, yielding between them; `written` counts progress. */
async function writeBurst(
  root: string,
  files: number,
  seed: number,
  progress: { written: number } = { written: 0 },
): Promise<void> {
  const random = prng(seed);
  for (let i = 0; i < files; i++) {
    const dir = path.join(root, `burst-${seed}`, `d${i % 100}`);
    if (i < 100) fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, `f${i}.bin`), Buffer.alloc(200 + Math.floor(random() * 8000), i % 251));
    progress.written = i + 1;
    if (i % 50 === 49) await new Promise((resolve) => setImmediate(resolve));
  }
}

async function setup(t: TestContext) {
  const source = tempDir(t, 'source');
  const replica = tempDir(t, 'replica');
  const topic = freshTopic(t);
  const prefix = freshPrefix();
  const producerState = tempDir(t, 'pstate');
  const applierState = tempDir(t, 'astate');
  const startProducer = async () => {
    const p = await startService(t, 'producer', producerArgs(source, producerState, topic, prefix));
    await p.waitReady();
    return p;
  };
  const startApplier = async () => {
    const a = await startService(t, 'applier', applierArgs(replica, applierState, 'crashy', topic, prefix));
    await a.waitReady();
    return a;
  };
  return { source, replica, startProducer, startApplier };
}

/** Kills `service` with SIGKILL once `metric` has grown by `after` since now. */
async function killAfterProgress(service: ServiceProcess, metric: string, after: number): Promise<void> {
  const start = (await service.metric(metric)) ?? 0;
  await waitFor(
    `${service.name} to make progress before the kill`,
    async () => (((await service.metric(metric)) ?? 0) - start >= after ? true : undefined),
    120_000,
    20,
  );
  await service.kill('SIGKILL');
}

test('the applier killed -9 three times during a 10,000-file burst converges', { timeout: 420_000 }, async (t) => {
  const { source, replica, startProducer, startApplier } = await setup(t);
  await startProducer();
  let applier = await startApplier();
  await writeBurst(source, 10_000, 1);
  const random = prng(7);
  for (let kill = 0; kill < 3; kill++) {
    await killAfterProgress(applier, 'mirrorlog_applier_events_total', 300 + Math.floor(random() * 1500));
    applier = await startApplier();
  }
  await waitForReplica(source, replica, 'after the applier crashes', 180_000);
});

test('the producer killed -9 three times during a 10,000-file burst converges', { timeout: 420_000 }, async (t) => {
  const { source, replica, startProducer, startApplier } = await setup(t);
  let producer = await startProducer();
  await startApplier();
  // Killed while the files are still being written: changes during the outage are
  // found by the restarted producer's reconcile.
  const progress = { written: 0 };
  const writing = writeBurst(source, 10_000, 2, progress);
  const random = prng(9);
  for (const at of [2000, 5000, 8000]) {
    const when = at + Math.floor(random() * 1000);
    await waitFor(`the burst to reach ${when} files`, () => (progress.written >= when ? true : undefined), 120_000, 5);
    await producer.kill('SIGKILL');
    producer = await startProducer();
  }
  await writing;
  await waitForReplica(source, replica, 'after the producer crashes', 180_000);
});
