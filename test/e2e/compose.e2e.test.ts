// The compose deployment end to end, as an operator runs it: `docker compose -f
// infra/compose.yaml up` brings up Kafka, MinIO, the bucket job, the producer and two
// appliers (images built by compose; where no registry answers, the Kafka and MinIO images
// are the stand-ins infra/containers builds under the same names). A file written into
// SOURCE_DIR reaches both replica volumes; REPLICA_A_REBUILD=true rebuilds replica A (what
// the log does not hold is swept away) and the next plain start resumes; the mirrorlog
// services exit 0 on stop and `compose down -v` leaves no container, volume or network.
// It runs in a project of its own; the engine is started by `npm test`
// (infra/containers/containers.sh) and the test fails without one.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { defer } from '../helpers/cleanup.ts';
import { COMPOSE_FILE } from '../helpers/deploy-files.ts';
import { describeRun, docker, hostNofileHardLimit, inspect, requireEngine, tail } from '../helpers/docker.ts';
import type { Run } from '../helpers/docker.ts';

const UP_TIMEOUT_MS = 10 * 60_000;
const READY_TIMEOUT_MS = 4 * 60_000;
const MIRRORLOG_SERVICES = ['producer', 'applier-a', 'applier-b'] as const;

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** Polls `check` until it returns a value, failing after `timeoutMs` with what it last saw. */
async function until<T>(
  what: string,
  timeoutMs: number,
  check: () => Promise<T | undefined>,
  seen: () => Promise<string>,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) assert.fail(`${what}: not within ${timeoutMs / 1000} s; last seen:\n${await seen()}`);
    await delay(1000);
  }
}

describe('compose deployment', () => {
  it(
    'comes up, replicates to both replicas, rebuilds replica A on request and goes down cleanly',
    { timeout: 40 * 60_000 },
    async (t) => {
      await requireEngine();
      const suffix = randomUUID().slice(0, 8);
      const project = `mirrorlog-e2e-${suffix}`;
      const source = mkdtempSync(join(tmpdir(), 'mirrorlog-compose-source-'));
      chmodSync(source, 0o755); // the image's user (uid 1000) reads it
      t.after(() => rmSync(source, { recursive: true, force: true }));
      // The engine's own hard limit caps what a container gets (20000 on some hosts).
      const nofile = Math.min(65536, hostNofileHardLimit());
      const env = {
        ...process.env,
        SOURCE_DIR: source,
        SOURCE_ID: `e2e-${suffix}`,
        IMAGE_TAG: `e2e-${suffix}`,
        BUILD_NETWORK: 'host',
        NOFILE_LIMIT: String(nofile),
        REPLICA_A_REBUILD: 'false',
      };
      const compose = (args: string[], timeoutMs = 120_000, extra: Record<string, string> = {}): Promise<Run> =>
        docker(['compose', '-p', project, '-f', COMPOSE_FILE, ...args], timeoutMs, { ...env, ...extra });
      const containerOf = async (service: string) => (await compose(['ps', '-a', '-q', service])).stdout.trim();
      const logsOf = async (service: string, lines = 30) => {
        const run = await compose(['logs', '--no-color', '--tail', String(lines), service]);
        return tail(`${run.stdout}${run.stderr}`, lines);
      };
      const status = async () => (await compose(['ps', '-a', '--format', '{{.Service}}: {{.Status}}'])).stdout;
      defer(t, async () => {
        await compose(['down', '-v', '--remove-orphans', '-t', '30'], 180_000);
        await docker(['rmi', '-f', `mirrorlog-producer:${env.IMAGE_TAG}`, `mirrorlog-applier:${env.IMAGE_TAG}`]);
      });

      let started = Date.now();
      const build = await compose(['build', 'producer', 'applier-a'], 30 * 60_000);
      assert.equal(build.status, 0, `docker compose build: ${describeRun(build)}`);
      t.diagnostic(`compose build (producer, applier): ${seconds(Date.now() - started)}`);

      started = Date.now();
      const up = await compose(['up', '-d'], UP_TIMEOUT_MS);
      assert.equal(up.status, 0, `docker compose up: ${describeRun(up)}`);
      const bucketJob = await containerOf('create-bucket');
      assert.equal(
        await inspect(bucketJob, '{{.State.Status}} {{.State.ExitCode}}'),
        'exited 0',
        `the bucket job succeeded:\n${await logsOf('create-bucket')}`,
      );
      for (const service of ['kafka', 'minio', ...MIRRORLOG_SERVICES]) {
        const id = await containerOf(service);
        await until(
          `${service} healthy`,
          READY_TIMEOUT_MS,
          async () => ((await inspect(id, '{{.State.Health.Status}}')) === 'healthy' ? true : undefined),
          async () => `${await status()}\n${await logsOf(service)}`,
        );
      }
      t.diagnostic(`compose up until every service is healthy: ${seconds(Date.now() - started)}`);

      const limits = await compose(['exec', '-T', 'producer', 'sh', '-c', 'ulimit -Sn; ulimit -Hn']);
      assert.equal(
        limits.stdout.trim(),
        `${nofile}\n${nofile}`,
        `the producer runs with NOFILE_LIMIT open files: ${describeRun(limits)}`,
      );

      const replicaFile = async (service: string, path: string) => {
        const run = await compose(['exec', '-T', service, 'cat', `/replica/${path}`]);
        return run.status === 0 ? run.stdout : undefined;
      };
      const reaches = async (service: string, path: string, content: string) => {
        await until(
          `${path} in ${service}'s replica volume`,
          READY_TIMEOUT_MS,
          async () => ((await replicaFile(service, path)) === content ? true : undefined),
          async () => `${await status()}\n${await logsOf(service)}\n${await logsOf('producer')}`,
        );
      };
      started = Date.now();
      mkdirSync(join(source, 'reports/2026'), { recursive: true });
      writeFileSync(join(source, 'reports/2026/summary.txt'), 'written into SOURCE_DIR\n');
      for (const service of ['applier-a', 'applier-b'])
        await reaches(service, 'reports/2026/summary.txt', 'written into SOURCE_DIR\n');
      t.diagnostic(`a file in SOURCE_DIR reached both replica volumes in ${seconds(Date.now() - started)}`);

      // A file the log never held: only a rebuild's sweep removes it.
      const stray = await compose(['exec', '-T', 'applier-a', 'sh', '-c', 'echo stray > /replica/stray.txt']);
      assert.equal(stray.status, 0, `writing a stray file into replica A: ${describeRun(stray)}`);
      started = Date.now();
      const rebuild = await compose(['up', '-d', 'applier-a'], UP_TIMEOUT_MS, { REPLICA_A_REBUILD: 'true' });
      assert.equal(rebuild.status, 0, `REPLICA_A_REBUILD=true docker compose up -d applier-a: ${describeRun(rebuild)}`);
      await until(
        'replica A rebuilt',
        READY_TIMEOUT_MS,
        async () =>
          (await logsOf('applier-a', 400)).includes('"rebuild complete"') &&
          (await replicaFile('applier-a', 'stray.txt')) === undefined
            ? true
            : undefined,
        async () => logsOf('applier-a'),
      );
      const plans = (await logsOf('applier-a', 400)).split('\n').filter((line) => line.includes('"applier consuming"'));
      assert.match(
        plans.at(-1) ?? '',
        /"plan":\{"kind":"rebuild","reason":"requested"/,
        'replica A started with a requested rebuild',
      );
      await reaches('applier-a', 'reports/2026/summary.txt', 'written into SOURCE_DIR\n');
      t.diagnostic(`REPLICA_A_REBUILD=true: replica A rebuilt in ${seconds(Date.now() - started)}`);

      // The next plain start (the variable back to false) resumes instead of rebuilding again.
      const resume = await compose(['up', '-d', 'applier-a'], UP_TIMEOUT_MS);
      assert.equal(resume.status, 0, `docker compose up -d applier-a: ${describeRun(resume)}`);
      await until(
        'replica A resumed',
        READY_TIMEOUT_MS,
        async () => {
          const lines = (await logsOf('applier-a', 400))
            .split('\n')
            .filter((line) => line.includes('"applier consuming"'));
          return lines.at(-1)?.includes('"plan":{"kind":"resume"}') === true ? true : undefined;
        },
        async () => logsOf('applier-a'),
      );

      // Restarts are reported, not failed: at the first start of a fresh broker the services
      // may exit on a transient metadata error, and `restart: unless-stopped` recovers them.
      const restarts = await Promise.all(
        MIRRORLOG_SERVICES.map(async (s) => `${s} ${await inspect(await containerOf(s), '{{.RestartCount}}')}`),
      );
      t.diagnostic(`restarts: ${restarts.join(', ')}`);

      started = Date.now();
      const stop = await compose(['stop', '-t', '60'], 180_000);
      assert.equal(stop.status, 0, `docker compose stop: ${describeRun(stop)}`);
      for (const service of MIRRORLOG_SERVICES) {
        assert.equal(
          await inspect(await containerOf(service), '{{.State.ExitCode}}'),
          '0',
          `${service} exits 0 on stop:\n${await logsOf(service)}`,
        );
      }
      const down = await compose(['down', '-v', '-t', '30'], 180_000);
      assert.equal(down.status, 0, `docker compose down -v: ${describeRun(down)}`);
      const label = `label=com.docker.compose.project=${project}`;
      for (const [kind, list] of [
        ['containers', ['ps', '-a', '-q', '--filter', label]],
        ['volumes', ['volume', 'ls', '-q', '--filter', label]],
        ['networks', ['network', 'ls', '-q', '--filter', label]],
      ] as const) {
        assert.equal((await docker(list)).stdout.trim(), '', `compose down -v left ${kind} of ${project}`);
      }
      t.diagnostic(`stop (exit 0) and down -v: ${seconds(Date.now() - started)}`);
    },
  );
});
