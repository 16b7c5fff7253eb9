// A private 3-node Kafka cluster for a test: its own directory under the run's instances
// and a free block of ports, stopped and purged after the test (also on failure), and
// swept by scripts/run-tests.mjs if the test process died first. S3 stays the default
// stack's (tests use fresh bucket prefixes).
import { randomInt, randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { busyPorts } from '../../infra/stack/health.ts';
import {
  clusterDown,
  clusterStatus,
  ensureClusterUp,
  instancesDir,
  startClusterNode,
  type BootstrapServers,
  type ClusterOverrides,
  type ClusterSecurity,
  type ClusterStatus,
} from '../../infra/stack/index.ts';
import { defer } from './cleanup.ts';
import { testInstancePrefix } from './private-stack.ts';

export interface PrivateCluster {
  readonly dir: string;
  readonly bootstrap: BootstrapServers;
  status(): Promise<ClusterStatus>;
  pidOf(nodeId: number): Promise<number>;
  /** Sends `signal` to a node's JVM (SIGKILL, SIGSTOP, SIGCONT). */
  signal(nodeId: number, signal: NodeJS.Signals): Promise<void>;
  /** Starts a node that was killed; resolves once its process runs. */
  restart(nodeId: number): Promise<void>;
}

async function freeBasePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = randomInt(24_000, 28_000);
    const block = Array.from({ length: 34 }, (_, i) => base + i);
    if ((await busyPorts(block)).length === 0) return base;
  }
  throw new Error('no free block of 34 ports for a private cluster');
}

export async function privateCluster(
  t: TestContext,
  label: string,
  security?: ClusterSecurity,
): Promise<PrivateCluster> {
  const dir = join(instancesDir(), `${testInstancePrefix()}${label}-${randomUUID().slice(0, 8)}`);
  const overrides: ClusterOverrides = {
    dir,
    basePort: await freeBasePort(),
    ...(security === undefined ? {} : { security }),
    log: (line) => process.env.MIRRORLOG_TEST_DEBUG && process.stderr.write(`[cluster] ${line}\n`),
  };
  const stopped = new Set<number>();
  defer(t, async () => {
    // A node left SIGSTOPped would ignore SIGTERM until the grace period ran out.
    for (const nodeId of stopped) await signalNode(nodeId, 'SIGCONT').catch(() => undefined);
    await clusterDown({ ...overrides, purge: true });
  });
  const { bootstrapServers } = await ensureClusterUp(overrides);
  const pidOf = async (nodeId: number): Promise<number> => {
    const record = JSON.parse(await readFile(join(dir, `node-${nodeId}`, 'kafka.pid.json'), 'utf8')) as { pid: number };
    return record.pid;
  };
  const signalNode = async (nodeId: number, signal: NodeJS.Signals): Promise<void> => {
    process.kill(await pidOf(nodeId), signal);
    if (signal === 'SIGSTOP') stopped.add(nodeId);
    if (signal === 'SIGCONT') stopped.delete(nodeId);
  };
  return {
    dir,
    bootstrap: bootstrapServers,
    status: () => clusterStatus(overrides),
    pidOf,
    signal: signalNode,
    restart: async (nodeId) => {
      await startClusterNode(nodeId, overrides);
    },
  };
}
