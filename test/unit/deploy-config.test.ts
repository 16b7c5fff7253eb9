// Keeps the deployment files honest without a container engine or systemd: the
// Dockerfiles, infra/compose.yaml, the systemd units with their env files, and the
// commands of the README's "Running in production" section are parsed and checked against the config schema
// (every MIRRORLOG_* variable is an option of the service that reads it, and the
// environment each one ends up with is a valid config), against the source tree (every
// entrypoint is the build output of an existing file), and against each other (volumes,
// services, units and variables the docs name exist). The image build and a container
// smoke test live in test/integration/containers.int.test.ts.
import assert from 'node:assert/strict';
import { posix } from 'node:path';
import { describe, it } from 'node:test';
import { flagName } from '../../schemas/config.ts';
import { HELP_SHOWN, loadConfig } from '../../services/shared/config.ts';
import {
  COMPOSE_FILE,
  CONFIG_SCHEMAS,
  SERVICES,
  configEnvNames,
  contextSources,
  dockerEnv,
  dockerignorePatterns,
  execForm,
  expandSpecifiers,
  instructionsOf,
  interpolate,
  interpolations,
  isDockerignored,
  isRecord,
  loadCompose,
  mirrorlogNames,
  parseDockerfile,
  parseEnvFile,
  parseHealthcheck,
  parseUnitFile,
  parseVolumeMount,
  readRepoFile,
  repoFileExists,
  sourceOfCompiled,
  splitQuoted,
  unitEnvironment,
  unitValue,
  unitValues,
  walkStrings,
} from '../helpers/deploy-files.ts';
import type { DockerStage, ServiceName, UnitFile, VolumeMount } from '../helpers/deploy-files.ts';

const ALL_CONFIG_NAMES = new Set(SERVICES.flatMap((service) => [...configEnvNames(service)]));

/** Validates an environment the way the service will: loadConfig over the env alone. */
function loadServiceConfig(service: ServiceName, env: ReadonlyMap<string, string>): Record<string, unknown> {
  const config = loadConfig(CONFIG_SCHEMAS[service], {
    argv: [],
    env: Object.fromEntries(env),
    usage: `mirrorlog ${service}`,
  });
  assert.notEqual(config, HELP_SHOWN);
  return config as Record<string, unknown>;
}

function assertKnownNames(text: string, allowed: ReadonlySet<string>, where: string): void {
  const unknown = mirrorlogNames(text).filter((name) => !allowed.has(name));
  assert.deepEqual(unknown, [], `${where} names variables no config schema has: ${unknown.join(', ')}`);
}

/** `dist/x.js` (relative to the install root) comes from an existing source the build compiles. */
function assertCompiledFromSource(distPath: string, expectedSource: string): void {
  const origin = sourceOfCompiled(distPath);
  assert.ok(origin !== undefined, `${distPath} is not under the build's outDir`);
  assert.equal(origin.source, expectedSource);
  assert.ok(origin.included, `${origin.source} is outside tsconfig.build.json's include (or excluded)`);
  assert.ok(repoFileExists(origin.source), `${distPath} is built from ${origin.source}, which does not exist`);
}

function isUnder(path: string, dir: string): boolean {
  const p = posix.normalize(path);
  const d = posix.normalize(dir).replace(/\/$/, '');
  return p === d || p.startsWith(`${d}/`);
}

// ---------------------------------------------------------------------------------------

function dockerfileOf(service: ServiceName) {
  const path = `services/${service}/Dockerfile`;
  const text = readRepoFile(path);
  const parsed = parseDockerfile(text);
  const [build, runtime] = parsed.stages;
  assert.equal(parsed.stages.length, 2, `${path}: a build stage and a runtime stage`);
  return { path, text, parsed, build: build!, runtime: runtime! };
}

function runCommands(stage: DockerStage): string {
  return instructionsOf(stage, 'RUN')
    .map((i) => i.args)
    .join(' && ');
}

describe('Dockerfiles', () => {
  for (const service of SERVICES) {
    describe(`services/${service}/Dockerfile`, () => {
      it('builds both stages on an official Node LTS slim image, the version a build argument', () => {
        const { parsed } = dockerfileOf(service);
        const version = parsed.globalArgs.get('NODE_VERSION');
        assert.ok(version !== undefined && /^\d+$/.test(version), 'ARG NODE_VERSION=<major> before the first FROM');
        const engines = /^>=\s*(\d+)/.exec(
          (JSON.parse(readRepoFile('package.json')) as { engines: { node: string } }).engines.node,
        );
        assert.ok(engines !== null);
        assert.ok(Number(version) >= Number(engines[1]), `Node ${version} is below package.json engines`);
        assert.equal(Number(version) % 2, 0, 'LTS lines are the even majors');
        for (const stage of parsed.stages) assert.equal(stage.from, 'node:${NODE_VERSION}-bookworm-slim');
      });

      it('build stage: npm ci, then the TypeScript build, then drops the dev dependencies', () => {
        const { build } = dockerfileOf(service);
        assert.equal(build.alias, 'build');
        const run = runCommands(build);
        const ci = run.indexOf('npm ci');
        const compile = run.indexOf('npm run build');
        const prune = run.indexOf('npm prune --omit=dev');
        assert.ok(
          ci !== -1 && compile > ci && prune > compile,
          `expected npm ci → npm run build → npm prune --omit=dev in: ${run}`,
        );
        assert.match(
          run,
          /apt-get install .*\bpython3\b.*\bmake\b.*\bg\+\+/,
          'a toolchain for better-sqlite3 when no prebuilt binary fits',
        );
        const scripts = (JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> }).scripts;
        // The compiled services, plus the status page's static assets that tsc does not copy.
        assert.match(
          scripts['build'] ?? '',
          /^tsc -p tsconfig\.build\.json( && cp -r services\/cli\/status-page\/assets \S+)?$/,
        );
      });

      it('copies only files the build context has and .dockerignore keeps', () => {
        const { build, runtime } = dockerfileOf(service);
        const patterns = dockerignorePatterns();
        const sources = contextSources(build);
        for (const required of ['package.json', 'package-lock.json', 'tsconfig.build.json', 'schemas', 'services']) {
          assert.ok(sources.includes(required), `the build stage copies ${required}`);
        }
        for (const source of sources) {
          assert.ok(repoFileExists(source), `COPY ${source}: not in the repository`);
          assert.ok(!isDockerignored(source, patterns), `COPY ${source}: excluded by .dockerignore`);
        }
        assert.deepEqual(contextSources(runtime), [], 'the runtime stage takes everything from the build stage');
        for (const heavy of ['node_modules', 'dist', '.git']) {
          assert.ok(isDockerignored(heavy, patterns), `.dockerignore keeps ${heavy} out of the context`);
        }
      });

      it('runtime stage: compiled JS and production node_modules from the build stage, run by a non-root user', () => {
        const { runtime } = dockerfileOf(service);
        const copies = instructionsOf(runtime, 'COPY').map((i) => i.args);
        for (const path of ['/app/dist', '/app/node_modules', '/app/package.json']) {
          assert.ok(
            copies.some((args) => args.includes('--from=build') && args.split(/\s+/).includes(path)),
            `COPY --from=build ${path}`,
          );
        }
        assert.doesNotMatch(runCommands(runtime), /\bnpm\b/, 'no npm install in the runtime stage');
        const user = instructionsOf(runtime, 'USER').at(-1)?.args;
        assert.ok(user !== undefined && !/^(root|0)(:|$)/.test(user), `USER must not be root (got ${String(user)})`);
      });

      it('ENTRYPOINT: tini as PID 1, then node on the compiled main of this service', () => {
        const { runtime } = dockerfileOf(service);
        assert.equal(instructionsOf(runtime, 'CMD').length, 0, 'no CMD: configuration comes from the environment');
        const entrypoint = execForm(instructionsOf(runtime, 'ENTRYPOINT').at(-1)?.args ?? '');
        assert.ok(entrypoint !== undefined, 'ENTRYPOINT in exec form (a shell would be PID 1 and swallow SIGTERM)');
        const [init, separator, node, script, ...rest] = entrypoint;
        assert.equal(init, '/usr/bin/tini');
        assert.equal(separator, '--');
        assert.equal(node, 'node');
        assert.deepEqual(rest, []);
        assert.match(runCommands(runtime), /apt-get install .*\btini\b/, 'the runtime stage installs tini');
        const workdir = instructionsOf(runtime, 'WORKDIR').at(-1)?.args;
        assert.ok(
          workdir !== undefined && script !== undefined && isUnder(script, workdir),
          `${String(script)} lies under WORKDIR ${String(workdir)}`,
        );
        assertCompiledFromSource(posix.relative(workdir, script), `services/${service}/main.ts`);
      });

      it('STOPSIGNAL SIGTERM and a HEALTHCHECK on /healthz of the metrics port, without curl', () => {
        const { runtime } = dockerfileOf(service);
        assert.equal(instructionsOf(runtime, 'STOPSIGNAL').at(-1)?.args, 'SIGTERM');
        const healthchecks = instructionsOf(runtime, 'HEALTHCHECK');
        assert.equal(healthchecks.length, 1);
        const { options, command } = parseHealthcheck(healthchecks[0]!.args);
        assert.equal(command[0], 'node');
        const script = command.join(' ');
        assert.match(script, /\/healthz/);
        assert.match(script, /process\.env\.MIRRORLOG_METRICS_PORT/);
        for (const option of ['interval', 'timeout', 'start-period', 'retries'])
          assert.ok(options.has(option), `HEALTHCHECK --${option}`);
      });

      it(
        'ENV: only options of the schema, metrics on loopback at the EXPOSEd port, ' +
          'a state directory the user owns',
        () => {
          const { text, runtime } = dockerfileOf(service);
          assertKnownNames(text, configEnvNames(service), `services/${service}/Dockerfile`);
          const env = dockerEnv(runtime);
          for (const name of env.keys()) {
            if (name.startsWith('MIRRORLOG_'))
              assert.ok(configEnvNames(service).has(name), `${name} is not a ${service} option`);
          }
          assert.equal(
            env.get('MIRRORLOG_METRICS_HOST'),
            '127.0.0.1',
            'loopback unless MIRRORLOG_METRICS_HOST says otherwise; the HEALTHCHECK reaches it there',
          );
          const port = env.get('MIRRORLOG_METRICS_PORT');
          assert.ok(port !== undefined);
          assert.deepEqual(
            instructionsOf(runtime, 'EXPOSE').map((i) => i.args),
            [port],
          );
          const stateDir = env.get('MIRRORLOG_STATE_DIR');
          assert.ok(stateDir !== undefined);
          assert.match(
            runCommands(runtime),
            new RegExp(`chown node:node ${stateDir}`),
            'the state directory is owned by the user',
          );
        },
      );
    });
  }

  it('the two images agree on the Node version and use distinct metrics ports', () => {
    const [producer, applier] = SERVICES.map(dockerfileOf);
    assert.equal(producer!.parsed.globalArgs.get('NODE_VERSION'), applier!.parsed.globalArgs.get('NODE_VERSION'));
    assert.notEqual(
      dockerEnv(producer!.runtime).get('MIRRORLOG_METRICS_PORT'),
      dockerEnv(applier!.runtime).get('MIRRORLOG_METRICS_PORT'),
    );
  });
});

// ---------------------------------------------------------------------------------------

type ComposeService = Record<string, unknown>;

const TOP_LEVEL_KEYS = new Set(['name', 'services', 'volumes', 'networks', 'configs', 'secrets', 'include']);
const DEPENDS_ON_CONDITIONS = new Set(['service_started', 'service_healthy', 'service_completed_successfully']);

function composeServices(): Record<string, ComposeService> {
  const services = loadCompose()['services'];
  assert.ok(isRecord(services), 'services: is a mapping');
  for (const [name, service] of Object.entries(services)) assert.ok(isRecord(service), `services.${name} is a mapping`);
  return services as Record<string, ComposeService>;
}

/** Which mirrorlog image a service builds, from its Dockerfile path; undefined for others. */
function kindOf(service: ComposeService): ServiceName | undefined {
  const build = service['build'];
  if (!isRecord(build)) return undefined;
  return SERVICES.find((kind) => build['dockerfile'] === `services/${kind}/Dockerfile`);
}

function servicesOfKind(kind: ServiceName): Array<[string, ComposeService]> {
  return Object.entries(composeServices()).filter(([, service]) => kindOf(service) === kind);
}

function composeEnv(service: ComposeService): Map<string, string> {
  const environment = service['environment'] ?? {};
  assert.ok(isRecord(environment), 'environment: as a mapping');
  const env = new Map<string, string>();
  for (const [name, value] of Object.entries(environment)) {
    assert.ok(typeof value === 'string' || typeof value === 'number', `${name}: quote the value (got ${typeof value})`);
    env.set(name, interpolate(String(value)));
  }
  return env;
}

/** The environment the service's process sees: image ENV, then compose's environment. */
function containerEnv(kind: ServiceName, service: ComposeService): Map<string, string> {
  return new Map([...dockerEnv(dockerfileOf(kind).runtime), ...composeEnv(service)]);
}

function mountsOf(service: ComposeService): VolumeMount[] {
  const volumes = service['volumes'] ?? [];
  assert.ok(Array.isArray(volumes));
  return volumes.map((entry) => parseVolumeMount(typeof entry === 'string' ? interpolate(entry) : entry));
}

/** A YAML scalar as text; a mapping or a sequence as JSON (never `[object Object]`). */
function text(value: unknown): string {
  return typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value);
}

function dependsOn(service: ComposeService): Map<string, string> {
  const value = service['depends_on'] ?? [];
  if (Array.isArray(value)) return new Map(value.map((name) => [String(name), 'service_started']));
  assert.ok(isRecord(value));
  return new Map(
    Object.entries(value).map(([name, spec]) => [
      name,
      isRecord(spec) ? text(spec['condition'] ?? 'service_started') : 'service_started',
    ]),
  );
}

function profilesOf(service: ComposeService): string[] {
  const profiles = service['profiles'] ?? [];
  assert.ok(Array.isArray(profiles));
  return profiles.map(String);
}

describe('infra/compose.yaml', () => {
  it('uses only Compose top-level keys (extension fields start with x-), with a fixed project name', () => {
    const compose = loadCompose();
    for (const key of Object.keys(compose)) {
      assert.ok(TOP_LEVEL_KEYS.has(key) || key.startsWith('x-'), `unknown top-level key ${key}`);
    }
    assert.equal(compose['name'], 'mirrorlog', 'volume names in the docs are mirrorlog_<volume>');
  });

  it('interpolates well-formed variables, each with one default, all listed in compose.env.example', () => {
    const compose = loadCompose();
    const defaults = new Map<string, Set<string>>();
    for (const { path, text } of walkStrings(compose)) {
      let found;
      try {
        found = interpolations(text);
      } catch (error) {
        assert.fail(`${path}: ${(error as Error).message}`);
      }
      for (const { name, operator, operand } of found) {
        assert.ok(
          !name.startsWith('MIRRORLOG_'),
          `${path}: name compose variables apart from the service's own MIRRORLOG_* (${name})`,
        );
        const set = defaults.get(name) ?? new Set<string>();
        if (operator === ':-' || operator === '-') set.add(operand);
        defaults.set(name, set);
      }
    }
    const example = parseEnvFile(readRepoFile('infra/compose.env.example'));
    assert.deepEqual(
      [...defaults.keys()].sort(),
      [...example.keys()].sort(),
      'the variables used and the ones compose.env.example documents',
    );
    for (const [name, values] of defaults) {
      assert.ok(values.size <= 1, `${name} has different defaults: ${[...values].join(' | ')}`);
      const [value] = values;
      if (value !== undefined)
        assert.equal(example.get(name), value, `compose.env.example ${name} equals the default in compose.yaml`);
    }
  });

  it('has Kafka, MinIO, the bucket job, one producer and at least two appliers started by default', () => {
    const services = composeServices();
    for (const name of ['kafka', 'minio', 'create-bucket']) assert.ok(services[name] !== undefined, `service ${name}`);
    assert.equal(servicesOfKind('producer').length, 1);
    const defaultAppliers = servicesOfKind('applier').filter(([, service]) => profilesOf(service).length === 0);
    assert.ok(defaultAppliers.length >= 2, 'two replicas without a profile');
  });

  it('gives every service an image or a build from the repo root with an existing Dockerfile', () => {
    for (const [name, service] of Object.entries(composeServices())) {
      const build = service['build'];
      assert.ok(typeof service['image'] === 'string' || build !== undefined, `${name}: image or build`);
      if (typeof service['image'] === 'string') assert.notEqual(interpolate(service['image']), '', `${name}: image`);
      if (build === undefined) continue;
      assert.ok(isRecord(build), `${name}: build as a mapping`);
      const context = posix.normalize(posix.join(posix.dirname(COMPOSE_FILE), interpolate(String(build['context']))));
      assert.equal(context, '.', `${name}: the build context is the repository root`);
      assert.ok(repoFileExists(String(build['dockerfile'])), `${name}: ${String(build['dockerfile'])} exists`);
    }
  });

  it('depends only on existing services, with valid conditions the targets can meet', () => {
    const services = composeServices();
    for (const [name, service] of Object.entries(services)) {
      for (const [target, condition] of dependsOn(service)) {
        const dependency = services[target];
        assert.ok(dependency !== undefined, `${name} depends on unknown service ${target}`);
        assert.ok(DEPENDS_ON_CONDITIONS.has(condition), `${name} → ${target}: unknown condition ${condition}`);
        if (condition === 'service_healthy')
          assert.ok(
            isRecord(dependency['healthcheck']),
            `${name} waits for ${target} to be healthy: it needs a healthcheck`,
          );
        if (condition === 'service_completed_successfully')
          assert.equal(dependency['restart'], 'no', `${target} is a one-shot job`);
        if (profilesOf(service).length === 0)
          assert.deepEqual(profilesOf(dependency), [], `${name} starts by default, so ${target} must too`);
      }
    }
  });

  it('writes healthchecks as CMD / CMD-SHELL arrays with durations', () => {
    for (const [name, service] of Object.entries(composeServices())) {
      const healthcheck = service['healthcheck'];
      if (healthcheck === undefined) {
        assert.ok(
          kindOf(service) !== undefined || name === 'create-bucket',
          `${name} has a healthcheck (mirrorlog images bring their own)`,
        );
        continue;
      }
      assert.ok(isRecord(healthcheck));
      const test = healthcheck['test'];
      assert.ok(Array.isArray(test) && ['CMD', 'CMD-SHELL'].includes(String(test[0])), `${name}: healthcheck.test`);
      for (const key of ['interval', 'timeout', 'start_period']) {
        if (healthcheck[key] !== undefined)
          assert.match(text(healthcheck[key]), /^\d+(ms|s|m|h)$/, `${name}: healthcheck.${key}`);
      }
    }
  });

  it('declares every named volume it mounts, and mounts every volume it declares', () => {
    const declared = loadCompose()['volumes'];
    assert.ok(isRecord(declared));
    const used = new Set<string>();
    for (const [name, service] of Object.entries(composeServices())) {
      for (const mount of mountsOf(service)) {
        if (mount.type !== 'volume') continue;
        assert.ok(mount.source in declared, `${name} mounts undeclared volume ${mount.source}`);
        used.add(mount.source);
      }
    }
    assert.deepEqual(
      Object.keys(declared).filter((volume) => !used.has(volume)),
      [],
      'declared but unused volumes',
    );
  });

  for (const kind of SERVICES) {
    it(
      `${kind} services: MIRRORLOG_* variables of the ${kind} schema only, ` + `and a valid config with the image ENV`,
      () => {
        const services = servicesOfKind(kind);
        assert.ok(services.length > 0);
        for (const [name, service] of services) {
          const env = composeEnv(service);
          for (const variable of env.keys()) {
            assert.ok(
              !variable.startsWith('MIRRORLOG_') || configEnvNames(kind).has(variable),
              `${name}: ${variable} is not a ${kind} option`,
            );
          }
          const config = loadServiceConfig(kind, containerEnv(kind, service));
          assert.equal(
            config['metricsHost'],
            '127.0.0.1',
            `${name}: metrics on loopback unless METRICS_HOST says otherwise`,
          );
          assert.equal(service['restart'], 'unless-stopped', `${name}: restarted after a crash or a reboot`);
          assert.equal(service['init'], undefined, `${name}: the image's tini is PID 1 already`);
        }
      },
    );
  }

  it('names no MIRRORLOG_* variable that no service reads', () => {
    assertKnownNames(readRepoFile(COMPOSE_FILE), ALL_CONFIG_NAMES, COMPOSE_FILE);
  });

  it('mounts the source read-only at MIRRORLOG_ROOT and the producer state in a volume', () => {
    const [[name, producer]] = servicesOfKind('producer') as [[string, ComposeService]];
    const config = loadServiceConfig('producer', containerEnv('producer', producer));
    const mounts = mountsOf(producer);
    const source = mounts.find((mount) => mount.target === config['root']);
    assert.ok(
      source !== undefined && source.type === 'bind' && source.readOnly,
      `${name}: a read-only bind mount at ${String(config['root'])}`,
    );
    const state = mounts.find((mount) => mount.target === config['stateDir']);
    assert.ok(
      state !== undefined && state.type === 'volume' && !state.readOnly,
      `${name}: a writable volume at ${String(config['stateDir'])}`,
    );
  });

  it('gives each applier its own replica name and its own writable target and state volumes', () => {
    const all = Object.entries(composeServices());
    const replicas = new Set<string>();
    const volumes = new Set<string>();
    for (const [name, applier] of servicesOfKind('applier')) {
      const config = loadServiceConfig('applier', containerEnv('applier', applier));
      const replica = String(config['replica']);
      assert.ok(!replicas.has(replica), `${name}: replica ${replica} is used twice`);
      replicas.add(replica);
      for (const path of [config['target'], config['stateDir']]) {
        const mount = mountsOf(applier).find((m) => m.target === path);
        assert.ok(
          mount !== undefined && mount.type === 'volume' && !mount.readOnly,
          `${name}: a writable volume at ${String(path)}`,
        );
        assert.ok(!volumes.has(mount.source), `${name}: volume ${mount.source} is shared`);
        volumes.add(mount.source);
        const others = all.filter(
          ([other, service]) => other !== name && mountsOf(service).some((m) => m.source === mount.source),
        );
        assert.deepEqual(
          others.map(([other]) => other),
          [],
          `${mount.source} is mounted by ${name} only`,
        );
      }
      const rebuild = composeEnv(applier).get('MIRRORLOG_REBUILD');
      assert.equal(rebuild, 'false', `${name}: MIRRORLOG_REBUILD is off unless asked for one start`);
    }
  });

  it('points mirrorlog at an advertised Kafka listener and at MinIO with its credentials and bucket', () => {
    const services = composeServices();
    const kafkaEnv = composeEnv(services['kafka']!);
    const minio = services['minio']!;
    const minioEnv = composeEnv(minio);
    const bucketJob = composeEnv(services['create-bucket']!);
    for (const kind of SERVICES) {
      for (const [name, service] of servicesOfKind(kind)) {
        const config = loadServiceConfig(kind, containerEnv(kind, service));
        for (const broker of config['brokers'] as string[]) {
          const [host] = broker.split(':');
          assert.ok(services[host!] !== undefined, `${name}: broker ${broker} is not a compose service`);
          assert.ok(dependsOn(service).has(host!), `${name} waits for ${host}`);
          assert.ok(
            kafkaEnv.get('KAFKA_ADVERTISED_LISTENERS')?.includes(`//${broker}`),
            `${name}: ${broker} is an advertised listener`,
          );
        }
        const endpoint = new URL(String(config['s3Endpoint']));
        assert.ok(services[endpoint.hostname] === minio, `${name}: the S3 endpoint is the minio service`);
        assert.ok(
          dependsOn(service).has('minio') && dependsOn(service).has('create-bucket'),
          `${name} waits for MinIO and the bucket`,
        );
        assert.equal(config['s3AccessKey'], minioEnv.get('MINIO_ROOT_USER'));
        assert.equal(config['s3SecretKey'], minioEnv.get('MINIO_ROOT_PASSWORD'));
        assert.equal(config['bucket'], bucketJob.get('BUCKET'), `${name} uses the bucket the job creates`);
      }
    }
    assert.equal(bucketJob.get('S3_ACCESS_KEY'), minioEnv.get('MINIO_ROOT_USER'));
    assert.equal(bucketJob.get('S3_SECRET_KEY'), minioEnv.get('MINIO_ROOT_PASSWORD'));
    assert.ok(
      (minioEnv.get('MINIO_ROOT_PASSWORD') ?? '').length >= 8,
      'MinIO refuses passwords shorter than 8 characters',
    );
  });

  it('gives the mirrorlog services 65536 open files, or NOFILE_LIMIT where the host allows fewer', () => {
    const ulimits = loadCompose()['x-mirrorlog-service'];
    assert.ok(isRecord(ulimits) && isRecord(ulimits['ulimits']));
    const nofile = ulimits['ulimits']['nofile'];
    assert.ok(isRecord(nofile));
    for (const key of ['soft', 'hard']) {
      assert.equal(interpolate(String(nofile[key])), '65536', `nofile.${key} by default`);
      assert.equal(
        interpolate(String(nofile[key]), { NOFILE_LIMIT: '20000' }),
        '20000',
        `nofile.${key} with NOFILE_LIMIT`,
      );
    }
  });

  it('runs Kafka as one KRaft node whose internal topics have replication factor 1', () => {
    const kafka = composeServices()['kafka']!;
    const env = composeEnv(kafka);
    assert.match(interpolate(String(kafka['image'])), /^apache\/kafka:\d+\.\d+\.\d+$/, 'the official image, pinned');
    assert.equal(env.get('KAFKA_PROCESS_ROLES'), 'broker,controller');
    assert.match(env.get('CLUSTER_ID') ?? '', /^[A-Za-z0-9_-]{22}$/, 'a base64url UUID');
    const nodeId = env.get('KAFKA_NODE_ID');
    assert.equal(env.get('KAFKA_CONTROLLER_QUORUM_VOTERS'), `${String(nodeId)}@kafka:9093`);
    for (const variable of [
      'KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR',
      'KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR',
      'KAFKA_TRANSACTION_STATE_LOG_MIN_ISR',
      'KAFKA_SHARE_COORDINATOR_STATE_TOPIC_REPLICATION_FACTOR',
      'KAFKA_SHARE_COORDINATOR_STATE_TOPIC_MIN_ISR',
    ]) {
      assert.equal(env.get(variable), '1', variable);
    }
    assert.equal(
      env.get('KAFKA_AUTO_CREATE_TOPICS_ENABLE'),
      'false',
      'mirrorlog creates its topic with its own settings',
    );
    const listeners = (env.get('KAFKA_LISTENERS') ?? '').split(',').map((l) => /^([A-Z_]+):\/\//.exec(l)?.[1]);
    const protocols = new Map(
      (env.get('KAFKA_LISTENER_SECURITY_PROTOCOL_MAP') ?? '')
        .split(',')
        .map((pair) => pair.split(':') as [string, string]),
    );
    for (const listener of listeners)
      assert.ok(listener !== undefined && protocols.has(listener), `listener ${String(listener)} has a protocol`);
    const dataMount = mountsOf(kafka).find((mount) => mount.target === env.get('KAFKA_LOG_DIRS'));
    assert.ok(dataMount?.type === 'volume', 'Kafka data in a volume');
  });
});

// ---------------------------------------------------------------------------------------

const UNITS: Record<ServiceName, { file: string; name: string; instance: string; example: string }> = {
  producer: {
    file: 'infra/systemd/mirrorlog-producer.service',
    name: 'mirrorlog-producer.service',
    instance: '',
    example: 'infra/systemd/producer.env.example',
  },
  applier: {
    file: 'infra/systemd/mirrorlog-applier@.service',
    name: 'mirrorlog-applier@.service',
    instance: 'replica-a',
    example: 'infra/systemd/applier-replica-a.env.example',
  },
};

function unitOf(service: ServiceName): {
  unit: UnitFile;
  text: string;
  name: string;
  instance: string;
  example: string;
} {
  const spec = UNITS[service];
  const text = readRepoFile(spec.file);
  return { unit: parseUnitFile(text), text, ...spec };
}

function serviceValue(unit: UnitFile, key: string): string | undefined {
  return unitValue(unit, 'Service', key);
}

/** What the process sees: the unit's Environment=, overridden by its EnvironmentFile=. */
function unitProcessEnv(service: ServiceName): Map<string, string> {
  const { unit, name, instance, example } = unitOf(service);
  return new Map([...unitEnvironment(unit, name, instance), ...parseEnvFile(readRepoFile(example))]);
}

describe('infra/systemd', () => {
  for (const service of SERVICES) {
    describe(UNITS[service].name, () => {
      it('ExecStart runs node on the installed build of this service', () => {
        const { unit } = unitOf(service);
        const [node, script, ...rest] = splitQuoted(serviceValue(unit, 'ExecStart') ?? '');
        assert.equal(node, '/usr/bin/node');
        assert.deepEqual(rest, [], 'configuration comes from the environment only');
        const root = serviceValue(unit, 'WorkingDirectory');
        assert.equal(root, '/opt/mirrorlog');
        assert.ok(script !== undefined && isUnder(script, root));
        assertCompiledFromSource(posix.relative(root, script), `services/${service}/main.ts`);
      });

      it('reads /etc/mirrorlog/<name>.env, of which infra/systemd has the example', () => {
        const { unit, name, instance, example } = unitOf(service);
        const files = unitValues(unit, 'Service', 'EnvironmentFile');
        assert.equal(files.length, 1);
        const path = expandSpecifiers(files[0]!, name, instance);
        assert.ok(!path.startsWith('-'), 'a missing env file is an error, not silently ignored');
        assert.ok(isUnder(path, '/etc/mirrorlog'), path);
        assert.equal(`infra/systemd/${posix.basename(path)}.example`, example);
        assert.ok(repoFileExists(example));
      });

      it('uses only MIRRORLOG_* variables of the schema, and unit + env file make a valid config', () => {
        const { text, example } = unitOf(service);
        assertKnownNames(text, configEnvNames(service), UNITS[service].file);
        assertKnownNames(readRepoFile(example), configEnvNames(service), example);
        loadServiceConfig(service, unitProcessEnv(service));
      });

      it('stops with SIGTERM and a timeout, restarts on failure with a delay, except on a config error', () => {
        const { unit } = unitOf(service);
        assert.equal(serviceValue(unit, 'KillSignal'), 'SIGTERM');
        assert.match(serviceValue(unit, 'TimeoutStopSec') ?? '', /^\d+(s|min)?$/);
        assert.equal(serviceValue(unit, 'Restart'), 'on-failure');
        assert.match(serviceValue(unit, 'RestartSec') ?? '', /^\d+(s|min)?$/);
        assert.equal(serviceValue(unit, 'RestartPreventExitStatus'), '2', 'CliError (exit 2) is a configuration error');
        assert.equal(unitValue(unit, 'Install', 'WantedBy'), 'multi-user.target');
      });

      it('runs sandboxed as a system user with its own state directory', () => {
        const { unit, name, instance } = unitOf(service);
        const expected: Record<string, string> = {
          ProtectSystem: 'strict',
          ProtectHome: 'yes',
          PrivateTmp: 'yes',
          PrivateDevices: 'yes',
          NoNewPrivileges: 'yes',
          ProtectKernelTunables: 'yes',
          ProtectControlGroups: 'yes',
          CapabilityBoundingSet: '',
        };
        for (const [key, value] of Object.entries(expected)) {
          assert.equal((unit.get('Service') ?? []).findLast((e) => e.key === key)?.value, value, `${key}=${value}`);
        }
        assert.notEqual(serviceValue(unit, 'MemoryDenyWriteExecute'), 'yes', "V8's JIT needs W+X memory");
        const user = serviceValue(unit, 'User');
        assert.ok(user !== undefined && user !== 'root' && user !== '0', 'User= a system user');
        const stateDirectory = expandSpecifiers(serviceValue(unit, 'StateDirectory') ?? '', name, instance);
        assert.ok(
          isUnder(stateDirectory, 'mirrorlog') && stateDirectory !== 'mirrorlog',
          `StateDirectory=mirrorlog/... (got ${stateDirectory})`,
        );
        assert.equal(unitProcessEnv(service).get('MIRRORLOG_STATE_DIR'), `/var/lib/${stateDirectory}`);
      });
    });
  }

  it('producer: the source is read-only and nothing but the state directory is writable', () => {
    const { unit, name } = unitOf('producer');
    const config = loadServiceConfig('producer', unitProcessEnv('producer'));
    const readOnly = unitValues(unit, 'Service', 'ReadOnlyPaths').flatMap((v) =>
      splitQuoted(expandSpecifiers(v, name)),
    );
    assert.ok(
      readOnly.some((path) => isUnder(String(config['root']), path.replace(/^-/, ''))),
      `ReadOnlyPaths= covers MIRRORLOG_ROOT ${String(config['root'])}`,
    );
    assert.deepEqual(unitValues(unit, 'Service', 'ReadWritePaths'), []);
  });

  it('applier: the instance is the replica, and only its target (and state) is writable', () => {
    const { unit, name, instance, example } = unitOf('applier');
    assert.ok(name.includes('@.'), 'a template unit: one instance per replica');
    const config = loadServiceConfig('applier', unitProcessEnv('applier'));
    assert.equal(config['replica'], instance);
    const writable = unitValues(unit, 'Service', 'ReadWritePaths').flatMap((v) =>
      splitQuoted(expandSpecifiers(v, name, instance)),
    );
    assert.deepEqual(writable, [config['target']]);
    assert.deepEqual(
      unitValues(unit, 'Unit', 'RequiresMountsFor').map((v) => expandSpecifiers(v, name, instance)),
      [config['target']],
    );
    const file = parseEnvFile(readRepoFile(example));
    for (const owned of ['MIRRORLOG_REPLICA', 'MIRRORLOG_TARGET', 'MIRRORLOG_STATE_DIR']) {
      assert.ok(!file.has(owned), `${example} must leave ${owned} to the unit`);
    }
  });

  it('the example env files use distinct metrics ports', () => {
    const ports = SERVICES.map((service) => unitProcessEnv(service).get('MIRRORLOG_METRICS_PORT'));
    assert.equal(new Set(ports).size, SERVICES.length);
  });
});

// ---------------------------------------------------------------------------------------

const DOC = 'README.md';

/** The README's "Running in production" section: what operators copy. */
function productionSection(): string {
  const text = readRepoFile(DOC);
  const start = text.indexOf('\n## Running in production\n');
  assert.ok(start >= 0, 'README.md has a "Running in production" section');
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

/** Shell commands of the doc's fenced code blocks: continuation lines joined, split at && ; |. */
function docCommands(): string[][] {
  const text = productionSection();
  const blocks = [...text.matchAll(/^```[a-z]*\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
  return blocks
    .flatMap((block) => block.replace(/\\\n/g, ' ').split('\n'))
    .map((line) => line.replace(/(^|\s)#.*$/, '').trim())
    .filter((line) => line !== '')
    .flatMap((line) => line.split(/&&|;|\|/))
    .map((segment) => splitQuoted(segment.trim().replace(/^sudo\s+/, '')))
    .filter((words) => words.length > 0);
}

/** Leading `NAME=value` words, then the command. */
function splitAssignments(words: string[]): { assignments: Map<string, string>; command: string[] } {
  const assignments = new Map<string, string>();
  let i = 0;
  for (; i < words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[i]!); i += 1) {
    const [name, ...value] = words[i]!.split('=');
    assignments.set(name!, value.join('='));
  }
  return { assignments, command: words.slice(i) };
}

const COMPOSE_VALUE_FLAGS = new Set([
  '-f',
  '--file',
  '-p',
  '--project-name',
  '--profile',
  '--env-file',
  '--project-directory',
]);
const SUBCOMMAND_VALUE_FLAGS = new Set([
  '-t',
  '--timeout',
  '--tail',
  '-n',
  '--scale',
  '-e',
  '--env',
  '--name',
  '-u',
  '--user',
  '-w',
  '--workdir',
]);
const SERVICE_LIST_SUBCOMMANDS = new Set([
  'up',
  'down',
  'stop',
  'start',
  'restart',
  'rm',
  'logs',
  'ps',
  'pull',
  'build',
  'create',
  'kill',
]);
const ONE_SERVICE_SUBCOMMANDS = new Set(['exec', 'run']);

function positional(
  words: string[],
  valueFlags: ReadonlySet<string>,
): { values: Map<string, string[]>; rest: string[] } {
  const values = new Map<string, string[]>();
  const rest: string[] = [];
  for (let i = 0; i < words.length; i += 1) {
    const word = words[i]!;
    if (!word.startsWith('-')) {
      rest.push(word);
      continue;
    }
    const [flag, inline] = word.split('=', 2) as [string, string?];
    if (valueFlags.has(flag)) {
      const value = inline ?? words[(i += 1)];
      values.set(flag, [...(values.get(flag) ?? []), value ?? '']);
    }
  }
  return { values, rest };
}

describe('README.md, Running in production', () => {
  it('names only MIRRORLOG_* variables of the config schemas', () => {
    assertKnownNames(productionSection(), ALL_CONFIG_NAMES, DOC);
  });

  it('names only repository files that exist', () => {
    const text = productionSection();
    const paths = new Set(
      text.match(/(?<![\w./-])(?:infra|services|docs|schemas|bin)\/[A-Za-z0-9._@/-]*[A-Za-z0-9_@-]/g) ?? [],
    );
    assert.ok(paths.size > 0);
    // Files the operator makes with a `cp` the doc shows (infra/.env) need not exist yet.
    const created = new Set(
      docCommands()
        .filter((words) => words[0] === 'cp')
        .map((words) => words.at(-1)),
    );
    for (const path of paths)
      assert.ok(repoFileExists(path) || created.has(path), `${DOC} names ${path}, which does not exist`);
    for (const installed of text.match(/\/opt\/mirrorlog\/dist\/[A-Za-z0-9._/-]+\.js/g) ?? []) {
      const origin = sourceOfCompiled(posix.relative('/opt/mirrorlog', installed));
      assert.ok(origin !== undefined && repoFileExists(origin.source), `${installed} is built from an existing source`);
    }
  });

  it('runs docker compose against the real file: its services, profiles, variables and volumes', () => {
    const compose = loadCompose();
    const services = composeServices();
    const profiles = new Set(Object.values(services).flatMap(profilesOf));
    const variables = new Set(walkStrings(compose).flatMap(({ text }) => interpolations(text).map((i) => i.name)));
    const volumes = Object.keys(compose['volumes'] as Record<string, unknown>);
    let composeCommands = 0;
    for (const words of docCommands()) {
      const { assignments, command } = splitAssignments(words);
      if (command[0] === 'docker' && command[1] === 'volume' && command[2] === 'rm') {
        for (const volume of command.slice(3).filter((w) => !w.startsWith('-'))) {
          assert.ok(
            volumes.some((declared) => volume === `${String(compose['name'])}_${declared}`),
            `docker volume rm ${volume}: not a volume of the compose project`,
          );
        }
        continue;
      }
      if (command[0] !== 'docker' || command[1] !== 'compose') continue;
      composeCommands += 1;
      const line = words.join(' ');
      for (const name of assignments.keys())
        assert.ok(variables.has(name), `${line}: ${name} is not a compose.yaml variable`);
      const subIndex = command.findIndex(
        (word, i) => i >= 2 && !word.startsWith('-') && !COMPOSE_VALUE_FLAGS.has(command[i - 1]!),
      );
      assert.ok(subIndex !== -1, `${line}: no subcommand`);
      const global = positional(command.slice(2, subIndex), COMPOSE_VALUE_FLAGS);
      assert.deepEqual(global.values.get('-f'), [COMPOSE_FILE], `${line}: -f ${COMPOSE_FILE}`);
      for (const profile of global.values.get('--profile') ?? [])
        assert.ok(profiles.has(profile), `${line}: unknown profile ${profile}`);
      const subcommand = command[subIndex]!;
      const args = positional(command.slice(subIndex + 1), SUBCOMMAND_VALUE_FLAGS);
      for (const env of args.values.get('-e') ?? []) {
        const [name] = env.split('=');
        assert.ok(ALL_CONFIG_NAMES.has(name!), `${line}: -e ${name} is not a config variable`);
      }
      const named = SERVICE_LIST_SUBCOMMANDS.has(subcommand)
        ? args.rest
        : ONE_SERVICE_SUBCOMMANDS.has(subcommand)
          ? args.rest.slice(0, 1)
          : [];
      for (const service of named) {
        assert.ok(services[service] !== undefined, `${line}: unknown service ${service}`);
        for (const profile of profilesOf(services[service])) {
          assert.ok(
            global.values.get('--profile')?.includes(profile),
            `${line}: ${service} needs --profile ${profile}`,
          );
        }
      }
    }
    assert.ok(composeCommands >= 3, 'the doc shows the compose commands');
  });

  it('runs systemctl on the units infra/systemd has, with env files named as the units read them', () => {
    let units = 0;
    for (const words of docCommands()) {
      const { command } = splitAssignments(words);
      if (command[0] !== 'systemctl') continue;
      for (const word of command.slice(1).filter((w) => w.startsWith('mirrorlog-'))) {
        units += 1;
        const unit = word.endsWith('.service') ? word : `${word}.service`;
        const file = unit.includes('@') ? unit.replace(/@[^.]*\./, '@.') : unit;
        assert.ok(repoFileExists(`infra/systemd/${file}`), `systemctl ... ${word}: no infra/systemd/${file}`);
      }
    }
    assert.ok(units >= 3, 'the doc shows the systemctl commands');
    const patterns = SERVICES.map((service) => {
      const { unit } = unitOf(service);
      const file = unitValue(unit, 'Service', 'EnvironmentFile')!;
      return new RegExp(`^${file.replace(/[.]/g, '\\.').replace('%i', '[A-Za-z0-9._-]+')}$`);
    });
    for (const path of productionSection().match(/\/etc\/mirrorlog\/[A-Za-z0-9._-]+\.env\b/g) ?? []) {
      assert.ok(
        patterns.some((pattern) => pattern.test(path)),
        `${path} is not an env file a unit reads`,
      );
    }
  });

  it('passes the mirrorlog services only flags their schemas define', () => {
    for (const words of docCommands()) {
      const { command } = splitAssignments(words);
      const at = command.indexOf('mirrorlog');
      const service = command[at + 1];
      if (at === -1 || (service !== 'producer' && service !== 'applier')) continue;
      const flags = new Set([...Object.keys(CONFIG_SCHEMAS[service].shape).map(flagName), 'config', 'help']);
      for (const word of command.slice(at + 2).filter((w) => w.startsWith('--'))) {
        const flag = word.slice(2).split('=')[0]!;
        assert.ok(flags.has(flag), `mirrorlog ${service} has no --${flag}`);
      }
    }
  });
});
