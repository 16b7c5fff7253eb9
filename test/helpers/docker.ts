// The docker CLI for tests against a real container engine (scripts/run-tests.mjs starts
// one through infra/containers/containers.sh). Containers and images a test makes are
// removed when it ends, last made first.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { TestContext } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { defer } from './cleanup.ts';
import { COMPOSE_FILE, REPO_ROOT, isRecord, loadCompose } from './deploy-files.ts';
import type { ServiceName } from './deploy-files.ts';

export interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs `docker args...`; never throws for a non-zero exit (the caller asserts). */
export function docker(
  args: readonly string[],
  timeoutMs = 120_000,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      'docker',
      args,
      { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024, env },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        const why = error !== null && typeof error.code !== 'number' ? `${error.message}\n` : '';
        resolve({ status: code, stdout, stderr: `${why}${stderr}` });
      },
    );
  });
}

export function tail(text: string, lines = 40): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export function describeRun(run: Run): string {
  return `exit ${run.status}\n${tail(run.stderr || run.stdout)}`;
}

/** Fails the test (never skips it) when no engine answers: the test setup should have started one. */
export async function requireEngine(): Promise<void> {
  const info = await docker(['info', '--format', '{{.ServerVersion}}'], 30_000);
  assert.equal(
    info.status,
    0,
    `no container engine answers (docker info: ${info.stderr.trim().split('\n')[0] ?? ''}). ` +
      'npm test starts one; by hand: infra/containers/containers.sh up && infra/containers/containers.sh images',
  );
}

/**
 * Builds both images as compose does (`docker compose build`, BuildKit), tagged
 * mirrorlog-<service>:<tag>: the container test and the compose test share one build
 * cache, so each image is built once per run. Host network for the RUN steps: the
 * engine of infra/containers has no default bridge.
 */
export async function buildImages(
  t: TestContext,
  tag: string,
): Promise<{ ms: number; images: Record<ServiceName, string> }> {
  const images = { producer: `mirrorlog-producer:${tag}`, applier: `mirrorlog-applier:${tag}` };
  defer(t, () => docker(['rmi', '-f', images.producer, images.applier]));
  const started = Date.now();
  const env = { ...process.env, IMAGE_TAG: tag, BUILD_NETWORK: 'host' };
  const build = await docker(['compose', '-f', COMPOSE_FILE, 'build', 'producer', 'applier-a'], 30 * 60_000, env);
  assert.equal(build.status, 0, `docker compose build: ${describeRun(build)}`);
  return { ms: Date.now() - started, images };
}

/** The host's hard limit on open files (a container cannot be given more). */
export function hostNofileHardLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Max open files'));
  const hard = line?.trim().split(/\s+/)[4];
  return hard === 'unlimited' || hard === undefined ? Number.MAX_SAFE_INTEGER : Number(hard);
}

/**
 * `docker run` flags for the hardening every mirrorlog service gets in infra/compose.yaml
 * (read-only root, tmpfs, capabilities, security options, ulimits), read from the file so
 * the test runs what operators deploy. The nofile limit is capped at the host's hard
 * limit, as compose's NOFILE_LIMIT override does.
 */
export function composeHardeningFlags(): string[] {
  const service = loadCompose()['x-mirrorlog-service'];
  assert.ok(isRecord(service), 'compose.yaml has x-mirrorlog-service');
  const flags: string[] = [];
  if (service['read_only'] === true) flags.push('--read-only');
  for (const mount of service['tmpfs'] as string[]) flags.push('--tmpfs', mount);
  for (const cap of service['cap_drop'] as string[]) flags.push('--cap-drop', cap);
  for (const option of service['security_opt'] as string[]) flags.push('--security-opt', option);
  const ulimits = service['ulimits'];
  assert.ok(isRecord(ulimits), 'compose.yaml x-mirrorlog-service has ulimits');
  for (const [name, value] of Object.entries(ulimits)) {
    assert.ok(isRecord(value), `ulimits.${name} has soft and hard`);
    const cap = (limit: unknown) =>
      Math.min(Number(String(limit).replace(/^\$\{[A-Z_]+:-(\d+)\}$/, '$1')), hostNofileHardLimit());
    flags.push('--ulimit', `${name}=${cap(value['soft'])}:${cap(value['hard'])}`);
  }
  return flags;
}

export interface ContainerSpec {
  name: string;
  image: string;
  env: Record<string, string>;
  /** `host:container[:ro]` bind mounts. */
  mounts?: string[];
  extraFlags?: string[];
}

/** Starts a container on the host network; it is removed when the test ends. */
export async function runContainer(t: TestContext, spec: ContainerSpec): Promise<void> {
  defer(t, () => docker(['rm', '-f', spec.name]));
  const args = ['run', '-d', '--name', spec.name, '--network', 'host', ...(spec.extraFlags ?? [])];
  for (const [key, value] of Object.entries(spec.env)) args.push('-e', `${key}=${value}`);
  for (const mount of spec.mounts ?? []) args.push('-v', mount);
  const run = await docker([...args, spec.image]);
  assert.equal(run.status, 0, `docker run ${spec.name}: ${describeRun(run)}`);
}

export async function inspect(name: string, format: string): Promise<string> {
  return (await docker(['inspect', '-f', format, name])).stdout.trim();
}

export async function containerLogs(name: string, lines = 40): Promise<string> {
  const output = await docker(['logs', '--tail', String(lines), name]);
  return `${output.stdout}${output.stderr}`;
}

/** Waits for Docker's health status `healthy`, failing at once if the container stops. */
export async function waitHealthy(name: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  for (;;) {
    const [running, health] = (await inspect(name, '{{.State.Running}} {{.State.Health.Status}}')).split(' ');
    if (running !== 'true')
      assert.fail(
        `${name} stopped (exit ${await inspect(name, '{{.State.ExitCode}}')}):\n${await containerLogs(name)}`,
      );
    if (health === 'healthy') return Date.now() - started;
    if (Date.now() - started > timeoutMs) {
      assert.fail(
        `${name}: not healthy within ${timeoutMs / 1000} s:\n${await inspect(name, '{{json .State.Health}}')}`,
      );
    }
    await delay(500);
  }
}

/** `docker stop` with the grace period compose gives; asserts the service exited 0. */
export async function stopContainer(name: string): Promise<void> {
  const stop = await docker(['stop', '-t', '60', name], 90_000);
  assert.equal(stop.status, 0, `docker stop ${name}: ${describeRun(stop)}`);
  assert.equal(
    await inspect(name, '{{.State.ExitCode}}'),
    '0',
    `${name} exits 0 on SIGTERM:\n${await containerLogs(name)}`,
  );
}
