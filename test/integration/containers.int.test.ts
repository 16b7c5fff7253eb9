// The container images, for real: both are built and run with compose's hardening
// (read-only root, tmpfs /tmp, no capabilities, no-new-privileges, non-root) against the
// local stack over the host network: a producer and two appliers. Files replicate to both
// replicas (a directory rename, a file large enough to go through S3, a delete), every
// container turns healthy by its image's HEALTHCHECK and exits 0 on `docker stop`, and a
// stopped applier started again resumes where it stopped (no rebuild of the replica, the
// same image). The test fails when no engine answers: `npm test` starts one
// (infra/containers/containers.sh); nothing here passes without it.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { waitForReplica } from '../helpers/converge.ts';
import {
  COMPOSE_FILE,
  SERVICES,
  contextSources,
  dockerignorePatterns,
  isDockerignored,
  parseDockerfile,
  readRepoFile,
  repoFileExists,
} from '../helpers/deploy-files.ts';
import {
  buildImages,
  composeHardeningFlags,
  containerLogs,
  describeRun,
  docker,
  inspect,
  requireEngine,
  runContainer,
  stopContainer,
  waitHealthy,
} from '../helpers/docker.ts';
import { freshPrefix, freshTopic, minioClient, stackConfig } from '../helpers/stack.ts';

const HEALTHY_TIMEOUT_MS = 180_000;
const REPLICATE_TIMEOUT_MS = 120_000;
/** The image's user: what its state and target directories must belong to. */
const IMAGE_UID = 1000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

/** A fresh directory: owned by `owner` when given, else readable by everyone (the image's user too). */
function tempDir(t: TestContext, name: string, owner?: number): string {
  const dir = mkdtempSync(join(tmpdir(), `mirrorlog-containers-${name}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  if (owner !== undefined) chownSync(dir, owner, owner);
  else chmodSync(dir, 0o755);
  return dir;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The local addresses listening on a TCP port of this host (the containers share its network). */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state === '0A' && local?.endsWith(`:${hexPort}`)) found.push(local.slice(0, -5));
    }
  }
  return found;
}

/** The `plan` of the last 'applier consuming' log line (pino JSON) of a container. */
async function lastStartPlan(name: string): Promise<unknown> {
  const lines = (await containerLogs(name, 400)).split('\n').filter((line) => line.includes('"applier consuming"'));
  const last = lines.at(-1);
  assert.ok(last !== undefined, `${name} logged 'applier consuming':\n${await containerLogs(name)}`);
  return (JSON.parse(last) as { plan?: unknown }).plan;
}

describe('container images', () => {
  it('have a complete build context (checked without an engine)', () => {
    const patterns = dockerignorePatterns();
    for (const service of SERVICES) {
      const dockerfile = `services/${service}/Dockerfile`;
      assert.ok(repoFileExists(dockerfile), `${dockerfile} exists`);
      const [build] = parseDockerfile(readRepoFile(dockerfile)).stages;
      assert.ok(build !== undefined);
      for (const source of contextSources(build)) {
        assert.ok(
          repoFileExists(source) && !isDockerignored(source, patterns),
          `${dockerfile}: COPY ${source} is in the build context`,
        );
      }
    }
  });

  it('pass `docker compose config` (Compose v2)', async () => {
    const version = await docker(['compose', 'version']);
    assert.equal(
      version.status,
      0,
      `docker compose: ${describeRun(version)} (infra/containers/containers.sh compose builds it)`,
    );
    for (const extra of [[], ['--profile', 'replica-c']]) {
      const config = await docker(['compose', '-f', COMPOSE_FILE, ...extra, 'config', '--quiet']);
      assert.equal(config.status, 0, `docker compose ${extra.join(' ')} config: ${describeRun(config)}`);
    }
  });

  it(
    'replicate through a producer and two appliers run with compose hardening',
    { timeout: 45 * 60_000 },
    async (t) => {
      await requireEngine();
      const suffix = randomUUID().slice(0, 8);
      const { ms, images } = await buildImages(t, `test-${suffix}`);
      for (const service of SERVICES) {
        const size = Number(await inspect(images[service], '{{.Size}}'));
        t.diagnostic(`${images[service]}: ${(size / 1e6).toFixed(0)} MB`);
        // Lean: no native build leftovers (C/C++ sources and headers, objects) in the runtime stage.
        const patterns = ['*.o', '*.a', '*.c', '*.cc', '*.cpp', '*.h'].flatMap((p, i) => [
          ...(i > 0 ? ['-o'] : []),
          '-name',
          p,
        ]);
        const leftovers = await docker([
          'run',
          '--rm',
          '--network',
          'none',
          '--entrypoint',
          'find',
          images[service],
          '/app',
          '(',
          ...patterns,
          ')',
        ]);
        assert.equal(leftovers.status, 0, `find in ${images[service]}: ${describeRun(leftovers)}`);
        assert.equal(leftovers.stdout.trim(), '', `${images[service]} carries native build leftovers`);
      }
      t.diagnostic(`built both images in ${seconds(ms)}`);

      const stack = stackConfig();
      const prefix = freshPrefix();
      const common = {
        MIRRORLOG_BROKERS: stack.brokers.join(','),
        MIRRORLOG_TOPIC: freshTopic(t),
        MIRRORLOG_S3_ENDPOINT: stack.s3Endpoint,
        MIRRORLOG_S3_ACCESS_KEY: stack.s3.accessKey,
        MIRRORLOG_S3_SECRET_KEY: stack.s3.secretKey,
        MIRRORLOG_S3_REGION: stack.s3.region,
        MIRRORLOG_BUCKET: stack.bucket,
        MIRRORLOG_S3_PREFIX: prefix,
      };
      const hardening = [...composeHardeningFlags(), '--health-interval', '2s'];
      const source = tempDir(t, 'source');
      const producer = `mirrorlog-test-producer-${suffix}`;
      const metricsPorts: number[] = [];
      const metricsPort = async () => {
        const port = await freePort();
        metricsPorts.push(port);
        return String(port);
      };
      await runContainer(t, {
        name: producer,
        image: images.producer,
        env: { ...common, MIRRORLOG_SOURCE: `test-${suffix}`, MIRRORLOG_METRICS_PORT: await metricsPort() },
        mounts: [`${source}:/source:ro`, `${tempDir(t, 'producer-state', IMAGE_UID)}:/var/lib/mirrorlog`],
        extraFlags: hardening,
      });
      // Only a producer creates the topic; an applier started before it refuses (compose restarts it, plain
      // `docker run` does not), so the appliers start once the producer is healthy, as an operator would.
      t.diagnostic(`${producer}: healthy after ${seconds(await waitHealthy(producer, HEALTHY_TIMEOUT_MS))}`);
      const replicas = new Map<string, string>();
      for (const letter of ['a', 'b']) {
        const name = `mirrorlog-test-applier-${letter}-${suffix}`;
        const target = tempDir(t, `replica-${letter}`, IMAGE_UID);
        await runContainer(t, {
          name,
          image: images.applier,
          env: {
            ...common,
            MIRRORLOG_REPLICA: `test-${suffix}-${letter}`,
            MIRRORLOG_METRICS_PORT: await metricsPort(),
          },
          mounts: [`${target}:/replica`, `${tempDir(t, `replica-${letter}-state`, IMAGE_UID)}:/var/lib/mirrorlog`],
          extraFlags: hardening,
        });
        replicas.set(name, target);
      }
      const converged = async (what: string) => {
        const started = Date.now();
        for (const [name, target] of replicas) {
          await waitForReplica(source, target, `${name}: ${what}`, REPLICATE_TIMEOUT_MS).catch(
            async (error: unknown) => {
              const logs = await Promise.all(
                [producer, name].map(async (n) => `--- ${n}:\n${await containerLogs(n, 15)}`),
              );
              throw new Error(`${(error as Error).message}\n${logs.join('\n')}`);
            },
          );
        }
        t.diagnostic(`${what}: both replicas equal the source after ${seconds(Date.now() - started)}`);
      };

      mkdirSync(join(source, 'docs/nested/deep'), { recursive: true });
      writeFileSync(join(source, 'docs/readme.txt'), 'read me\n');
      writeFileSync(join(source, 'docs/nested/deep/notes.txt'), 'deep notes\n');
      writeFileSync(join(source, 'top.txt'), 'top\n');
      // Far over the inline limit (16 KiB) and the 8 MiB staging threshold: its bytes go through S3.
      const large = randomBytes(20 * 1024 * 1024);
      writeFileSync(join(source, 'docs/large.bin'), large);
      await converged('initial tree');
      const objects: Array<{ name?: string; size?: number }> = [];
      for await (const object of minioClient(t).listObjectsV2(stack.bucket, prefix, true))
        objects.push(object as { size?: number });
      assert.ok(
        objects.some((object) => (object.size ?? 0) >= large.length),
        `the large file is stored in S3 under ${prefix}: ${JSON.stringify(objects.map((o) => o.size))}`,
      );

      renameSync(join(source, 'docs'), join(source, 'manuals'));
      await converged('directory rename');
      rmSync(join(source, 'top.txt'));
      await converged('delete');

      for (const name of [producer, ...replicas.keys()]) {
        t.diagnostic(`${name}: healthy after another ${seconds(await waitHealthy(name, HEALTHY_TIMEOUT_MS))}`);
      }

      // The images' default: /healthz, /readyz and /metrics on loopback only (here the host's).
      for (const port of metricsPorts)
        assert.deepEqual(listeners(port), ['0100007F'], `port ${port} listens on 127.0.0.1 only`);

      // Restart: stopped cleanly, started again from the same container (same image, state and
      // target), it resumes from its committed positions and catches up with what it missed.
      const [restarted] = replicas.keys();
      assert.ok(restarted !== undefined);
      const image = await inspect(restarted, '{{.Image}}');
      await stopContainer(restarted);
      writeFileSync(join(source, 'manuals/while-stopped.txt'), 'written while replica a was stopped\n');
      const start = await docker(['start', restarted]);
      assert.equal(start.status, 0, `docker start ${restarted}: ${describeRun(start)}`);
      await converged('restart');
      assert.equal(await inspect(restarted, '{{.Image}}'), image, 'the restarted applier runs the same image');
      assert.deepEqual(
        await lastStartPlan(restarted),
        { kind: 'resume' },
        `${restarted} resumed instead of rebuilding`,
      );
      await waitHealthy(restarted, HEALTHY_TIMEOUT_MS);

      for (const name of [...replicas.keys(), producer]) await stopContainer(name);
    },
  );
});
