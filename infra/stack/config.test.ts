// The pure parts of the local stack: options, generated configs, argument lists, parsing.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CliError } from '../../services/shared/errors.ts';
import { overridesFrom, parseStackArgs } from './command.ts';
import { kafkaInstallDir, kafkaVersionOf } from './install-kafka.ts';
import { goEnv, moduleDirOf } from './install-seaweedfs.ts';
import { formatElapsed } from './install.ts';
import { javaMajorVersion, kafkaLog4j2Properties, kafkaServerProperties, newClusterId } from './kafka-server.ts';
import { parsePort, portClash, resolveStackOptions, stackPorts } from './paths.ts';
import { sameArgv } from './processes.ts';
import { weedMiniArgs } from './s3-server.ts';

const HOME = '/home/dev';

test('defaults: LOCAL_STACK ports, cache and state under the home directory', () => {
  const o = resolveStackOptions({}, {}, HOME);
  assert.deepEqual(
    {
      cache: o.cacheDir,
      stack: o.stackDir,
      kafka: o.kafkaPort,
      controller: o.kafkaControllerPort,
      s3: o.s3Port,
      bucket: o.bucket,
    },
    {
      cache: '/home/dev/.cache/mirrorlog',
      stack: '/home/dev/.local/state/mirrorlog/stack',
      kafka: 9092,
      controller: 9093,
      s3: 8333,
      bucket: 'mirrorlog',
    },
  );
});

test('environment overrides defaults, flags override the environment', () => {
  const env = {
    MIRRORLOG_STACK_KAFKA_PORT: '19092',
    MIRRORLOG_STACK_S3_PORT: '18333',
    MIRRORLOG_STACK_DIR: '/tmp/s',
    MIRRORLOG_CACHE_DIR: '/tmp/c',
  };
  const fromEnv = resolveStackOptions({}, env, HOME);
  assert.deepEqual(
    [fromEnv.kafkaPort, fromEnv.kafkaControllerPort, fromEnv.s3Port, fromEnv.stackDir, fromEnv.cacheDir],
    [19092, 19093, 18333, '/tmp/s', '/tmp/c'],
  );
  const fromFlags = resolveStackOptions({ kafkaPort: 29092, s3Port: 28333 }, env, HOME);
  assert.deepEqual([fromFlags.kafkaPort, fromFlags.kafkaControllerPort, fromFlags.s3Port], [29092, 29093, 28333]);
});

test('a bad port in the environment is an error naming the variable', () => {
  assert.throws(
    () => resolveStackOptions({}, { MIRRORLOG_STACK_S3_PORT: 'eighty' }, HOME),
    /MIRRORLOG_STACK_S3_PORT.*'eighty'/,
  );
  assert.throws(() => parsePort('70000', '--s3-port'), /--s3-port/);
  assert.equal(parsePort(' 8080 ', 'x'), 8080);
});

test('ports of one stack never collide; clashes and overflows are reported', () => {
  const ports = Object.values(stackPorts({ kafkaPort: 9092, kafkaControllerPort: 9093, s3Port: 8333 }));
  assert.equal(new Set(ports).size, ports.length);
  assert.equal(portClash({ kafkaPort: 9092, kafkaControllerPort: 9093, s3Port: 8333 }), undefined);
  assert.match(portClash({ kafkaPort: 8334, kafkaControllerPort: 8335, s3Port: 8333 }) ?? '', /both 8334/);
  assert.match(portClash({ kafkaPort: 9092, kafkaControllerPort: 9093, s3Port: 60000 }) ?? '', /lower S3 port/);
});

test('kafka server.properties: KRaft combined mode on loopback, single-replica internal topics', () => {
  const props = kafkaServerProperties({ kafkaPort: 9092, kafkaControllerPort: 9093, dataDir: '/d' });
  const entries = new Map(
    props
      .split('\n')
      .filter((l) => l.includes('=') && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
  );
  assert.equal(entries.get('process.roles'), 'broker,controller');
  assert.equal(entries.get('listeners'), 'PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093');
  assert.equal(entries.get('controller.quorum.voters'), '1@127.0.0.1:9093');
  assert.equal(entries.get('log.dirs'), '/d');
  for (const key of ['offsets.topic', 'transaction.state.log', 'share.coordinator.state.topic']) {
    assert.equal(entries.get(`${key}.replication.factor`), '1', key);
  }
  assert.equal(entries.get('transaction.state.log.min.isr'), '1');
  assert.equal(entries.get('share.coordinator.state.topic.min.isr'), '1');
  assert.equal(entries.get('group.initial.rebalance.delay.ms'), '0');
  assert.equal(entries.get('log.cleaner.enable'), 'true');
  assert.match(kafkaLog4j2Properties('/logs'), /fileName = \/logs\/server\.log/);
});

test('cluster ids are 22 URL-safe characters and never start with a dash', () => {
  let calls = 0;
  const id = newClusterId((n) => Buffer.alloc(n, calls++ === 0 ? 0xfb : 0x41)); // 0xfb... encodes to '-'
  assert.equal(calls, 2);
  assert.match(id, /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
  assert.match(newClusterId(), /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
});

test('java -version output gives the major version, old and new styles', () => {
  assert.equal(javaMajorVersion('openjdk version "17.0.15" 2025-04-15'), 17);
  assert.equal(javaMajorVersion('java version "1.8.0_392"'), 8);
  assert.equal(javaMajorVersion('openjdk version "21" 2023-09-19'), 21);
  assert.equal(javaMajorVersion('nothing'), undefined);
});

test('weed mini arguments: loopback, every port in the block beside S3, extras off', () => {
  const args = weedMiniArgs({ s3Port: 8333, dataDir: '/d', logDir: '/l' });
  assert.ok(args.includes('-ip.bind=127.0.0.1') && args.includes('-ip=127.0.0.1'));
  assert.ok(
    args.includes('-master.telemetry=false') && args.includes('-webdav=false') && args.includes('-admin.port.legacy=0'),
  );
  assert.ok(args.indexOf('-logdir=/l') < args.indexOf('mini'), 'glog flags go before the command');
  const ports = args
    .flatMap((a) => (/^-[\w.]*port[\w.]*=(\d+)$/.exec(a)?.[1] ? [Number(/=(\d+)$/.exec(a)![1])] : []))
    .filter((p) => p > 0);
  const block = new Set(Object.values(stackPorts({ kafkaPort: 9092, kafkaControllerPort: 9093, s3Port: 8333 })));
  assert.ok(ports.length >= 10);
  for (const port of ports) assert.ok(block.has(port), `port ${port} is outside the stack's block`);
});

test('the kafka version comes from the pom, and any pom edit moves the install dir', () => {
  const pom = '<properties><kafka.version>4.4.0</kafka.version></properties>';
  assert.equal(kafkaVersionOf(pom), '4.4.0');
  assert.throws(() => kafkaVersionOf('<project/>'), /kafka\.version/);
  const a = kafkaInstallDir('/c', pom);
  assert.match(a, /^\/c\/kafka-4\.4\.0-[0-9a-f]{10}$/);
  assert.notEqual(a, kafkaInstallDir('/c', `${pom}\n`));
});

test('go helpers: module dir from download -json, a clean go environment', () => {
  assert.equal(moduleDirOf('{"Path":"m","Version":"v1","Dir":"/mod/m@v1"}'), '/mod/m@v1');
  assert.throws(() => moduleDirOf('{"Error":"not found"}'), /not found/);
  const env = goEnv({ GOFLAGS: '-mod=vendor', PATH: '/bin', GOWORK: '/w/go.work' });
  assert.deepEqual([env.GOFLAGS, env.PATH, env.GOWORK], [undefined, '/bin', 'off']);
});

test('argv comparison ignores only the directory of the program', () => {
  assert.ok(sameArgv(['java', '-cp', 'x', 'kafka.Kafka'], ['/usr/bin/java', '-cp', 'x', 'kafka.Kafka']));
  assert.ok(!sameArgv(['java', '-cp', 'x'], ['java', '-cp', 'y']));
  assert.ok(!sameArgv(['java'], ['python3']));
  assert.ok(!sameArgv([], []));
});

test('stack flags: strict parsing, errors that name the flag', () => {
  assert.deepEqual({ ...parseStackArgs('status', ['--json']) }, { json: true });
  assert.throws(
    () => parseStackArgs('status', ['--jsn']),
    (e: unknown) => e instanceof CliError && /'--jsn'/.test(e.message),
  );
  assert.throws(
    () => parseStackArgs('down', ['--kafka-port', '1']),
    (e: unknown) => e instanceof CliError && /--kafka-port/.test(e.message),
  );
  assert.throws(() => parseStackArgs('up', ['extra']), CliError);
  assert.throws(() => parseStackArgs('sideways', []), /unknown subcommand 'sideways'/);
  assert.deepEqual(overridesFrom({ 'kafka-port': '19092', timeout: '90s' }), {
    kafkaPort: 19092,
    startTimeoutMs: 90_000,
  });
  assert.throws(
    () => overridesFrom({ 's3-port': 'x' }),
    (e: unknown) => e instanceof CliError && /--s3-port/.test(e.message),
  );
  assert.throws(() => overridesFrom({ timeout: 'soon' }), /--timeout/);
});

test('elapsed times read as seconds or minutes', () => {
  assert.equal(formatElapsed(4_400), '4s');
  assert.equal(formatElapsed(65_000), '1m05s');
});

test(
  'MinIO: loopback only, console beside S3, https with a certificates directory; ' + 'chosen by flag or environment',
  async () => {
    const { minioArgs } = await import('./minio-server.ts');
    assert.deepEqual(minioArgs({ s3Port: 9100, dataDir: '/d' }), [
      'server',
      '/d',
      '--address',
      '127.0.0.1:9100',
      '--console-address',
      '127.0.0.1:9101',
      '--quiet',
    ]);
    assert.deepEqual(minioArgs({ s3Port: 9100, dataDir: '/d', certsDir: '/c' }).slice(-2), ['--certs-dir', '/c']);
    assert.equal(resolveStackOptions({}, {}, HOME).s3Server, 'seaweedfs');
    assert.equal(resolveStackOptions({}, { MIRRORLOG_STACK_S3_SERVER: 'minio' }, HOME).s3Server, 'minio');
    assert.throws(
      () => resolveStackOptions({}, { MIRRORLOG_STACK_S3_SERVER: 'garage' }, HOME),
      /MIRRORLOG_STACK_S3_SERVER: expected seaweedfs or minio/,
    );
    assert.equal(overridesFrom({ 's3-server': 'minio' }).s3Server, 'minio');
    assert.throws(() => overridesFrom({ 's3-server': 'x' }), /--s3-server: expected seaweedfs or minio/);
  },
);
