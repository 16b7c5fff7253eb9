// The container images, for real where a container engine runs: both images are built
// and each is started against the local stack (host network), must answer /healthz,
// turn healthy by its own HEALTHCHECK and exit 0 on `docker stop` (SIGTERM through tini).
// Where `docker info` fails, the engine part cannot run: the test says so with a
// diagnostic and checks what needs no engine (the build context the Dockerfiles copy).
// `docker compose config` is checked wherever the compose plugin exists (no engine needed).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import {
  COMPOSE_FILE,
  REPO_ROOT,
  SERVICES,
  contextSources,
  dockerignorePatterns,
  isDockerignored,
  parseDockerfile,
  readRepoFile,
  repoFileExists,
} from '../helpers/deploy-files.ts';
import type { ServiceName } from '../helpers/deploy-files.ts';

const BUILD_TIMEOUT_MS = 30 * 60_000;
const START_TIMEOUT_MS = 180_000;

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  error?: Error;
}

function docker(args: readonly string[], timeout = 120_000): Run {
  const result = spawnSync('docker', args, { cwd: REPO_ROOT, encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '', ...(result.error ? { error: result.error } : {}) };
}

function tail(text: string, lines = 40): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

function describeFailure(run: Run): string {
  return run.error?.message ?? `exit ${String(run.status)}\n${tail(run.stderr || run.stdout)}`;
}

/** Why a command failed, in one line. */
function reason(run: Run): string {
  const firstLine = run.stderr.trim().split('\n').find((line) => line.trim() !== '');
  return run.error?.message ?? firstLine ?? `exit ${String(run.status)}`;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  assert.ok(address !== null && typeof address === 'object');
  return address.port;
}

function buildImage(t: TestContext, service: ServiceName, tag: string): void {
  t.after(() => void docker(['rmi', '-f', tag]));
  const started = Date.now();
  const build = docker(['build', '-f', `services/${service}/Dockerfile`, '-t', tag, '.'], BUILD_TIMEOUT_MS);
  assert.equal(build.status, 0, `docker build ${service}: ${describeFailure(build)}`);
  t.diagnostic(`built ${tag} in ${Math.round((Date.now() - started) / 1000)} s`);
}

/** The environment a smoke container gets: the local stack, names no other test uses. */
async function smokeEnv(t: TestContext, service: ServiceName, port: number, id: string): Promise<Record<string, string>> {
  const { freshPrefix, freshTopic, stackConfig } = await import('../helpers/stack.ts');
  const stack = stackConfig();
  const env: Record<string, string> = {
    MIRRORLOG_BROKERS: stack.brokers.join(','),
    MIRRORLOG_TOPIC: freshTopic(t),
    MIRRORLOG_S3_ENDPOINT: stack.s3Endpoint,
    MIRRORLOG_S3_ACCESS_KEY: stack.s3.accessKey,
    MIRRORLOG_S3_SECRET_KEY: stack.s3.secretKey,
    MIRRORLOG_S3_REGION: stack.s3.region,
    MIRRORLOG_BUCKET: stack.bucket,
    MIRRORLOG_S3_PREFIX: freshPrefix(),
    // Host network: keep the service off every other interface.
    MIRRORLOG_METRICS_HOST: '127.0.0.1',
    MIRRORLOG_METRICS_PORT: String(port),
  };
  if (service === 'producer') env['MIRRORLOG_SOURCE'] = `test-${id}`;
  else env['MIRRORLOG_REPLICA'] = `test-${id}`;
  return env;
}

/** Starts the image, waits for /healthz and for Docker's health status, then stops it. */
async function smokeTest(t: TestContext, service: ServiceName, tag: string): Promise<void> {
  const id = randomUUID();
  const name = `mirrorlog-smoke-${service}-${id}`;
  const port = await freePort();
  const env = await smokeEnv(t, service, port, id);
  const args = ['run', '-d', '--name', name, '--network', 'host', '--health-interval', '2s', '--health-start-period', '120s'];
  for (const [key, value] of Object.entries(env)) args.push('-e', `${key}=${value}`);
  if (service === 'producer') {
    // The image runs as uid 1000: the source must be readable by it.
    const source = mkdtempSync(join(tmpdir(), 'mirrorlog-smoke-source-'));
    t.after(() => rmSync(source, { recursive: true, force: true }));
    writeFileSync(join(source, 'hello.txt'), 'hello\n');
    chmodSync(source, 0o755);
    chmodSync(join(source, 'hello.txt'), 0o644);
    args.push('-v', `${source}:/source:ro`);
  }
  t.after(() => void docker(['rm', '-f', name]));
  const run = docker([...args, tag]);
  assert.equal(run.status, 0, `docker run ${service}: ${describeFailure(run)}`);

  const inspect = (format: string) => docker(['inspect', '-f', format, name]).stdout.trim();
  const logs = () => {
    const output = docker(['logs', name]);
    return tail(`${output.stdout}${output.stderr}`);
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  let answered = false;
  while (!answered) {
    assert.equal(inspect('{{.State.Running}}'), 'true', `${service} container stopped (exit ${inspect('{{.State.ExitCode}}')}):\n${logs()}`);
    assert.ok(Date.now() < deadline, `${service}: no /healthz within ${START_TIMEOUT_MS / 1000} s:\n${logs()}`);
    answered = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2000) }).then(
      (response) => response.ok,
      () => false,
    );
    if (!answered) await delay(1000);
  }
  while (inspect('{{.State.Health.Status}}') !== 'healthy') {
    assert.ok(Date.now() < deadline, `${service}: the image's HEALTHCHECK never passed:\n${inspect('{{json .State.Health}}')}`);
    await delay(1000);
  }
  const stop = docker(['stop', '-t', '60', name], 90_000);
  assert.equal(stop.status, 0, `docker stop ${service}: ${describeFailure(stop)}`);
  assert.equal(inspect('{{.State.ExitCode}}'), '0', `${service} exits 0 on SIGTERM:\n${logs()}`);
}

describe('container images', () => {
  it('have a complete build context (checked with or without an engine)', () => {
    const patterns = dockerignorePatterns();
    for (const service of SERVICES) {
      const dockerfile = `services/${service}/Dockerfile`;
      assert.ok(repoFileExists(dockerfile), `${dockerfile} exists`);
      const [build] = parseDockerfile(readRepoFile(dockerfile)).stages;
      assert.ok(build !== undefined);
      for (const source of contextSources(build)) {
        assert.ok(repoFileExists(source) && !isDockerignored(source, patterns), `${dockerfile}: COPY ${source} is in the build context`);
      }
    }
  });

  it('pass `docker compose config` where the compose plugin exists', (t) => {
    const version = docker(['compose', 'version']);
    if (version.status !== 0) {
      t.diagnostic(`docker compose is not available here (${reason(version)}): compose.yaml is checked by test/unit/deploy-config.test.ts only`);
      return;
    }
    for (const extra of [[], ['--profile', 'replica-c']]) {
      const config = docker(['compose', '-f', COMPOSE_FILE, ...extra, 'config', '--quiet']);
      assert.equal(config.status, 0, `docker compose ${extra.join(' ')} config: ${describeFailure(config)}`);
    }
  });

  it('build, start, answer /healthz, turn healthy and stop cleanly where a container engine runs', { timeout: 2 * BUILD_TIMEOUT_MS }, async (t) => {
    const info = docker(['info'], 30_000);
    if (info.status !== 0) {
      t.diagnostic(
        `no container engine here (docker info: ${reason(info)}): ` +
          'image build and container smoke test not run; the build context was checked above',
      );
      return;
    }
    const suffix = randomUUID().slice(0, 8);
    for (const service of SERVICES) {
      const tag = `mirrorlog-${service}:test-${suffix}`;
      buildImage(t, service, tag);
      await smokeTest(t, service, tag);
      t.diagnostic(`${service}: started, /healthz answered, healthy, exit 0 on SIGTERM`);
    }
  });
});
