// Failover on a 3-broker cluster (issue 18), through the real producer and two appliers:
//   1. kill -9 the broker that leads most partitions during a 10,000-file burst, and
//      restart it a minute later;
//   2. kill -9 the active controller (the KRaft quorum leader) during a burst;
//   3. cut one broker off for 60 s (SIGSTOP, then SIGCONT) during a burst.
// After each, both replicas converge to the source, every file of the burst has a record
// in the log (nothing acknowledged is lost), and the test prints the replication latency
// seen by a probe before and during the fault and the duplicate records per path.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { Kafka, logLevel, type Admin } from 'kafkajs';
import { waitForReplica } from '../helpers/converge.ts';
import { pacedBurst, recordsPerPath, startLatencyProbe, summarize } from '../helpers/failover.ts';
import { privateCluster, type PrivateCluster } from '../helpers/private-cluster.ts';
import { tempDir } from '../helpers/producer.ts';
import { applierArgs, producerArgs, startService, type ServiceProcess } from '../helpers/services.ts';
import { freshPrefix, stackConfig, waitFor } from '../helpers/stack.ts';
import { readTopic } from '../helpers/topic.ts';

const RESTART_AFTER_MS = 60_000;
const CUT_OFF_MS = 60_000;

/** The broker leading the most partitions of `topic`. */
async function busiestLeader(admin: Admin, topic: string): Promise<number> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  const counts = new Map<number, number>();
  for (const p of topics[0]!.partitions) counts.set(p.leader, (counts.get(p.leader) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]![0];
}

interface Mirror {
  brokers: string[];
  source: string;
  replicas: string[];
  topic: string;
  services: ServiceProcess[];
}

async function startMirror(t: TestContext, cluster: PrivateCluster): Promise<Mirror> {
  const stack = { ...stackConfig(), brokers: cluster.bootstrap.plaintext };
  const topic = `failover-${path.basename(cluster.dir).slice(-8)}`;
  const prefix = freshPrefix();
  const source = tempDir(t, 'source');
  const producerFlags = producerArgs(source, tempDir(t, 'pstate'), topic, prefix, stack, 'failover');
  const producer = await startService(t, 'producer', producerFlags);
  await producer.waitReady();
  const replicas = [tempDir(t, 'replica-a'), tempDir(t, 'replica-b')];
  const services = [producer];
  for (const [i, target] of replicas.entries()) {
    const args = applierArgs(target, tempDir(t, `astate${i}`), `failover-${i}`, topic, prefix, stack);
    const applier = await startService(t, `applier-${i}`, args);
    await applier.waitReady();
    services.push(applier);
  }
  return { brokers: cluster.bootstrap.plaintext, source, replicas, topic, services };
}

/** Injects the fault once the burst is under way; `faultBegins` marks the probe's phase. */
type Fault = (burst: { written: () => number; faultBegins: () => void }) => Promise<void>;

/** Runs a burst with a fault in it, then checks convergence and the log; returns the report line. */
async function scenario(t: TestContext, mirror: Mirror, name: string, files: number, fault: Fault): Promise<string> {
  const probe = startLatencyProbe(mirror.source, mirror.replicas[0]!);
  await waitFor(
    'a few latency samples before the fault',
    () => (probe.samples.length >= 3 ? true : undefined),
    60_000,
    200,
  );
  let written = 0;
  const burst = pacedBurst(mirror.source, name, files, 400, (n) => (written = n));
  await fault({ written: () => written, faultBegins: () => (probe.phase = 'during') });
  // The fault returns once it is over (the node restarted or resumed): later probes are "after".
  probe.phase = 'after';
  await burst;
  // The probe stops writing first: a source that changes every second never compares equal.
  await probe.stop();
  const began = Date.now();
  for (const replica of mirror.replicas)
    await waitForReplica(mirror.source, replica, `${name}: ${path.basename(replica)}`, 300_000);
  const convergedMs = Date.now() - began;
  for (const service of mirror.services) assert.equal(service.child.exitCode, null, `${service.name} survived ${name}`);

  const counts = recordsPerPath(await readTopic(mirror.topic, mirror.brokers, 120_000));
  const burstPaths = Array.from({ length: files }, (_, i) => `${name}/d${Math.floor(i / 100)}/f${i}.txt`);
  const missing = burstPaths.filter((p) => (counts.get(p) ?? 0) === 0);
  assert.deepEqual(missing.slice(0, 10), [], `${missing.length} files of the burst have no record in the log`);
  const duplicates = burstPaths.reduce((sum, p) => sum + (counts.get(p)! - 1), 0);
  const by = (phase: string) => summarize(probe.samples.filter((s) => s.phase === phase).map((s) => s.ms));
  const line =
    `${name}: ${files} files, converged ${convergedMs} ms after the burst; duplicates ${duplicates}; ` +
    `probe latency ms before ${JSON.stringify(by('before'))} during ${JSON.stringify(by('during'))} ` +
    `after ${JSON.stringify(by('after'))}`;
  t.diagnostic(line);
  return line;
}

test(
  'failover on a 3-broker cluster: a killed leader, a killed controller, a broker cut off; nothing acknowledged lost',
  { timeout: 1_500_000 },
  async (t) => {
    const cluster = await privateCluster(t, 'failover');
    const admin = new Kafka({
      clientId: 'test-failover',
      brokers: cluster.bootstrap.plaintext,
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    t.after(() => admin.disconnect());
    const mirror = await startMirror(t, cluster);
    const report: string[] = [];

    await t.test('kill -9 the broker leading most partitions mid-burst, restart it a minute later', async (st) => {
      report.push(
        await scenario(st, mirror, 'killed-leader', 10_000, async ({ written, faultBegins }) => {
          await waitFor('the burst under way', () => (written() >= 2_000 ? true : undefined), 120_000, 50);
          const victim = await busiestLeader(admin, mirror.topic);
          st.diagnostic(`killing broker ${victim} (leads most partitions) after ${written()} files`);
          faultBegins();
          await cluster.signal(victim, 'SIGKILL');
          // The "a minute later": the outage's length is the scenario, not a wait for a condition.
          await delay(RESTART_AFTER_MS);
          await cluster.restart(victim);
        }),
      );
    });

    await t.test('kill -9 the active controller mid-burst', async (st) => {
      report.push(
        await scenario(st, mirror, 'killed-controller', 3_000, async ({ written, faultBegins }) => {
          await waitFor('the burst under way', () => (written() >= 1_000 ? true : undefined), 120_000, 50);
          const controller = await waitFor(
            'a quorum leader',
            async () => (await cluster.status()).activeController,
            60_000,
            500,
          );
          st.diagnostic(`killing the active controller, node ${controller}, after ${written()} files`);
          faultBegins();
          await cluster.signal(controller, 'SIGKILL');
          const next = await waitFor(
            'a new quorum leader',
            async () => {
              const leader = (await cluster.status()).activeController;
              return leader !== undefined && leader !== controller ? leader : undefined;
            },
            120_000,
            500,
          );
          st.diagnostic(`node ${next} leads the quorum now; restarting node ${controller}`);
          await cluster.restart(controller);
        }),
      );
    });

    await t.test('SIGSTOP one broker for 60 s mid-burst, then SIGCONT', async (st) => {
      report.push(
        await scenario(st, mirror, 'cut-off', 3_000, async ({ written, faultBegins }) => {
          await waitFor('the burst under way', () => (written() >= 1_000 ? true : undefined), 120_000, 50);
          const victim = await busiestLeader(admin, mirror.topic);
          st.diagnostic(`stopping broker ${victim} (SIGSTOP) after ${written()} files`);
          faultBegins();
          await cluster.signal(victim, 'SIGSTOP');
          // Cut off for the 60 s: the length is the scenario.
          await delay(CUT_OFF_MS);
          await cluster.signal(victim, 'SIGCONT');
        }),
      );
    });

    await waitFor(
      'every node back and registered',
      async () => ((await cluster.status()).healthy ? true : undefined),
      180_000,
      1000,
    );
    for (const line of report) t.diagnostic(line);
  },
);
