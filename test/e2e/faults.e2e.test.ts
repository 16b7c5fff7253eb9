// The servers go away: Kafka stopped for 30 s, then the S3 store stopped for 30 s,
// while the source keeps changing. Both services retry with backoff; once the servers
// are back everything converges, and no event ever referenced content the store lacks.
// The servers stopped are a private stack instance's: the default stack, and a mirror
// a developer runs on it, are never touched.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { contentKey } from '../../schemas/content-key.ts';
import { stackStatus, type ServerName } from '../../infra/stack/index.ts';
import { defer } from '../helpers/cleanup.ts';
import { waitForReplica } from '../helpers/converge.ts';
import { snapshotTree } from '../helpers/tree.ts';
import { privateStack, type PrivateStack } from '../helpers/private-stack.ts';
import { startMirrorPair } from '../helpers/services.ts';
import { minioClient } from '../helpers/stack.ts';
import { readTopic } from '../helpers/topic.ts';
import { Workload } from '../helpers/workload.ts';

const OUTAGE_MS = 30_000;

/** Stops a server for the outage while `during` keeps changing the source. */
async function outage(t: TestContext, stack: PrivateStack, server: ServerName, during: () => void): Promise<void> {
  let restarted = false;
  defer(t, async () => {
    if (!restarted) await stack.start(server);
  });
  await stack.stop(server);
  const until = Date.now() + OUTAGE_MS;
  while (Date.now() < until) {
    during();
    // The outage itself is what is being tested: its length is the point, not a wait for a condition.
    await delay(1000);
  }
  await stack.start(server);
  restarted = true;
}

/**
 * Why a replica did not converge: what the log holds last for each path that differs
 * (publication or application lost it), and what each service says and logged.
 */
async function diagnosis(
  dirs: { source: string; replica: string },
  topic: string,
  stack: PrivateStack,
  services: Record<string, { port: number; output: string[] }>,
): Promise<string> {
  const [source, replica] = [await snapshotTree(dirs.source), await snapshotTree(dirs.replica)];
  const differing = [...new Set([...source.keys(), ...replica.keys()])].filter(
    (p) => JSON.stringify(source.get(p)) !== JSON.stringify(replica.get(p)),
  );
  const last = new Map<string, string>();
  for (const event of await readTopic(topic, stack.config.brokers).catch(() => []))
    last.set(event.path, `${event.op} seq ${event.seq}`);
  const lines = [`the log's last record for each path that differs (${differing.length}):`];
  for (const p of differing.slice(0, 30)) lines.push(`  ${JSON.stringify(p)}: ${last.get(p) ?? 'none'}`);
  for (const [name, service] of Object.entries(services)) {
    const ready = await fetch(`http://127.0.0.1:${service.port}/readyz`).then(
      async (r) => `${r.status} ${(await r.text()).slice(0, 300)}`,
      (e: Error) => e.message,
    );
    lines.push(`${name} /readyz: ${ready}`, `${name} output:`, service.output.join('').slice(-4000));
  }
  return lines.join('\n');
}

test(
  'Kafka down 30 s, then S3 down 30 s, during changes: everything converges, no event without content',
  { timeout: 420_000 },
  async (t) => {
    // The default stack (which a developer's mirror may be using) is never touched.
    const defaultBefore = await stackStatus();
    const stack = await privateStack(t, 'faults');
    const { source, replica, topic, prefix, producer, applier } = await startMirrorPair(t, 'faulty', stack.config);
    const workload = new Workload(source, 424242);
    workload.run(200);
    await waitForReplica(source, replica, 'before the outages');

    let n = 0;
    const change = () => {
      workload.run(40);
      fs.writeFileSync(path.join(source, `during-outage-${n++}.txt`), `written while a server was down (${n})`);
      // Above the inline limit: content that must go through the store.
      fs.writeFileSync(path.join(source, `large-during-outage-${n}.bin`), Buffer.alloc(64 * 1024, n % 256));
    };
    await outage(t, stack, 'kafka', change);
    await outage(t, stack, 's3', change);
    try {
      await waitForReplica(source, replica, 'after the outages', 180_000);
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\n${await diagnosis({ source, replica }, topic, stack, { producer, applier })}`,
        {
          cause: error,
        },
      );
    }

    const defaultAfter = await stackStatus();
    for (const name of ['kafka', 's3'] as const) {
      const [was, is] = [defaultBefore.servers[name], defaultAfter.servers[name]];
      assert.deepEqual([is.healthy, is.pid], [was.healthy, was.pid], `the default stack's ${name} ran on, untouched`);
    }
    assert.equal(producer.child.exitCode, null, 'the producer survived the outages');
    assert.equal(applier.child.exitCode, null, 'the applier survived the outages');
    assert.equal((await applier.metric('mirrorlog_applier_dead_letters_total')) ?? 0, 0, 'no record was dead-lettered');
    const minio = minioClient(t, stack.config);
    // Every event whose content is not inline references an object that is in the store.
    const stored = (await readTopic(topic, stack.config.brokers)).flatMap((e) =>
      e.op === 'file' && e.data === undefined ? [e] : [],
    );
    const hashes = new Set(stored.map((e) => e.hash));
    // Each large file written during the outages that is still in the source (the workload
    // deletes and renames at random) went through the store; how many were written depends
    // on the machine's speed, so each is checked, not a count.
    let large = 0;
    for (const name of fs.readdirSync(source, { recursive: true, encoding: 'utf8' })) {
      if (!/(^|\/)large-during-outage-\d+\.bin$/.test(name)) continue;
      // An overwrite may have made it small enough to travel inline.
      if (fs.statSync(path.join(source, name)).size <= 16 * 1024) continue;
      const hash = createHash('sha256')
        .update(fs.readFileSync(path.join(source, name)))
        .digest('hex');
      assert.ok(hashes.has(hash), `${name} went through the store`);
      large += 1;
    }
    assert.ok(large >= 10, `large files written during the outages (${large} of ${n} still in the source)`);
    const missing: { hash: string; why: string; paths: string[]; events: string[] }[] = [];
    for (const hash of hashes) {
      await minio.statObject(stack.config.bucket, contentKey(hash, prefix)).catch((error: Error) => {
        const events = stored.filter((e) => e.hash === hash);
        const paths = [...new Set(events.map((e) => e.path))];
        missing.push({ hash, why: error.message, paths, events: events.map((e) => `${e.path} seq ${e.seq}`) });
      });
    }
    if (missing.length > 0) {
      // What the services logged of those paths or hashes: the way to the cause.
      const needles = missing.flatMap((m) => [m.hash, ...m.paths]);
      const mentions = Object.entries({ producer, applier }).flatMap(([name, service]) =>
        service.output
          .join('')
          .split('\n')
          .filter((line) => needles.some((needle) => line.includes(needle)))
          .map((line) => `${name}: ${line.slice(0, 400)}`),
      );
      assert.fail(
        `events reference content the store does not hold:\n` +
          missing.map((m) => `${m.hash} (${m.why}): ${m.events.join(', ')}`).join('\n') +
          `\nwhat the services logged of them:\n${mentions.slice(-40).join('\n')}` +
          `\nproducer output:\n${producer.output.join('').slice(-6000)}`,
      );
    }
  },
);
