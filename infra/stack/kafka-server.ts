// The Kafka broker of the local stack: one node in KRaft combined mode (broker and
// controller in one JVM), listening on loopback only. The config builders are pure.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CliError } from '../../services/shared/errors.ts';
import { ensureKafkaInstalled, type KafkaInstall } from './install-kafka.ts';
import { requireTool, runStep } from './install.ts';
import { serverPaths, type ServerPaths, type StackOptions } from './paths.ts';
import { launch, type LaunchSpec, type PidRecord } from './processes.ts';

const execFileAsync = promisify(execFile);

export const KAFKA_MIN_JAVA = 17;

export interface KafkaConfigInput {
  kafkaPort: number;
  kafkaControllerPort: number;
  dataDir: string;
}

/** server.properties for a single-node KRaft cluster on 127.0.0.1. */
export function kafkaServerProperties(o: KafkaConfigInput): string {
  const lines: Array<[string, string | number | boolean]> = [
    ['process.roles', 'broker,controller'],
    ['node.id', 1],
    ['controller.quorum.voters', `1@127.0.0.1:${o.kafkaControllerPort}`],
    ['listeners', `PLAINTEXT://127.0.0.1:${o.kafkaPort},CONTROLLER://127.0.0.1:${o.kafkaControllerPort}`],
    ['advertised.listeners', `PLAINTEXT://127.0.0.1:${o.kafkaPort}`],
    ['controller.listener.names', 'CONTROLLER'],
    ['inter.broker.listener.name', 'PLAINTEXT'],
    ['listener.security.protocol.map', 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT'],
    ['log.dirs', o.dataDir],
    // One node: every internal topic has one replica, or coordinators never come up
    // (kafkajs consumers then loop on "group coordinator not available").
    ['offsets.topic.replication.factor', 1],
    ['offsets.topic.num.partitions', 10],
    ['transaction.state.log.replication.factor', 1],
    ['transaction.state.log.min.isr', 1],
    ['transaction.state.log.num.partitions', 10],
    ['share.coordinator.state.topic.replication.factor', 1],
    ['share.coordinator.state.topic.min.isr', 1],
    ['share.coordinator.state.topic.num.partitions', 10],
    ['default.replication.factor', 1],
    ['min.insync.replicas', 1],
    ['num.partitions', 1],
    // Consumer groups in tests join at once instead of after 3 s.
    ['group.initial.rebalance.delay.ms', 0],
    // mirrorlog's topics are compacted; a smaller dedupe buffer keeps the heap modest.
    ['log.cleaner.enable', true],
    ['log.cleaner.dedupe.buffer.size', 32 * 1024 * 1024],
    ['log.cleaner.threads', 1],
    ['num.network.threads', 2],
    ['num.io.threads', 4],
    ['num.recovery.threads.per.data.dir', 1],
  ];
  const body = lines.map(([k, v]) => `${k}=${v}`).join('\n');
  return `# Written by mirrorlog stack on every start; edits are overwritten.\n${body}\n`;
}

/** log4j2 configuration: a size-rolled server.log in the stack's log directory. */
export function kafkaLog4j2Properties(logDir: string): string {
  const file = join(logDir, 'server.log');
  return [
    'status = warn',
    'appender.file.type = RollingFile',
    'appender.file.name = file',
    `appender.file.fileName = ${file}`,
    `appender.file.filePattern = ${file}.%i`,
    'appender.file.layout.type = PatternLayout',
    'appender.file.layout.pattern = [%d] %p %m (%c)%n',
    'appender.file.policies.type = Policies',
    'appender.file.policies.size.type = SizeBasedTriggeringPolicy',
    'appender.file.policies.size.size = 20MB',
    'appender.file.strategy.type = DefaultRolloverStrategy',
    'appender.file.strategy.max = 3',
    'rootLogger.level = info',
    'rootLogger.appenderRef.file.ref = file',
    // The per-request and state-change chatter of a busy test run is not worth keeping.
    'logger.request.name = kafka.request.logger',
    'logger.request.level = warn',
    'logger.cleaner.name = kafka.log.LogCleaner',
    'logger.cleaner.level = info',
    '',
  ].join('\n');
}

/** A KRaft cluster id: 16 random bytes in URL-safe base64 (22 chars), not starting with '-'. */
export function newClusterId(random: (n: number) => Buffer = randomBytes): string {
  for (;;) {
    const id = random(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}

/** The major version in `java -version` output (`openjdk version "17.0.15"`, `"1.8.0_392"`). */
export function javaMajorVersion(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?[^"]*"/.exec(versionOutput);
  if (match === null) return undefined;
  const major = Number(match[1]);
  return major === 1 && match[2] !== undefined ? Number(match[2]) : major;
}

/** The java to run: $JAVA_HOME/bin/java when set, else java on PATH; checked for version 17+. */
export async function findJava(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const fromHome = env.JAVA_HOME ? join(env.JAVA_HOME, 'bin', 'java') : undefined;
  const java =
    fromHome !== undefined && existsSync(fromHome)
      ? fromHome
      : await requireTool(
          'java',
          'the Kafka broker',
          `a Java ${KAFKA_MIN_JAVA}+ runtime (e.g. apt-get install openjdk-17-jre-headless)`,
        );
  const { stderr, stdout } = await execFileAsync(java, ['-version']);
  const major = javaMajorVersion(`${stderr}\n${stdout}`);
  if (major !== undefined && major < KAFKA_MIN_JAVA) {
    throw new CliError(
      `${java} is Java ${major}; the Kafka broker needs Java ${KAFKA_MIN_JAVA}+ ` +
        '(e.g. apt-get install openjdk-17-jre-headless, or set JAVA_HOME)',
      1,
    );
  }
  return java;
}

export function kafkaLaunchSpec(java: string, install: KafkaInstall, paths: ServerPaths, heap: string): LaunchSpec {
  return {
    command: java,
    args: [
      `-Xmx${heap}`,
      '-Xms128m',
      '-XX:+UseG1GC',
      '-XX:MaxGCPauseMillis=20',
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      `-Dkafka.logs.dir=${paths.logDir}`,
      `-Dlog4j2.configurationFile=${join(paths.configDir, 'log4j2.properties')}`,
      '-cp',
      install.classPath,
      'kafka.Kafka',
      join(paths.configDir, 'server.properties'),
    ],
    cwd: paths.dir,
    env: { ...process.env, KAFKA_HEAP_OPTS: '', KAFKA_OPTS: '' },
    logFile: paths.consoleLog,
  };
}

/** The storage of the server at `paths` has been formatted (it is formatted once, ever). */
export function isFormatted(paths: ServerPaths): boolean {
  return existsSync(join(paths.dataDir, 'meta.properties'));
}

/** Formats a server's storage with its config/server.properties (`extraArgs`: SCRAM users, say). */
export async function formatKafkaStorage(
  java: string,
  classPath: string,
  paths: ServerPaths,
  clusterId: string,
  extraArgs: string[] = [],
): Promise<void> {
  await runStep(
    java,
    [
      `-Dkafka.logs.dir=${paths.logDir}`,
      `-Dlog4j2.configurationFile=${join(paths.configDir, 'log4j2.properties')}`,
      '-cp',
      classPath,
      'kafka.tools.StorageTool',
      'format',
      '--cluster-id',
      clusterId,
      '--config',
      join(paths.configDir, 'server.properties'),
      ...extraArgs,
    ],
    { cwd: paths.dir, logFile: join(paths.logDir, 'format.log') },
  );
}

/** Writes the config, formats the storage on first start, and launches the broker. */
export async function startKafka(o: StackOptions): Promise<PidRecord> {
  const java = await findJava();
  const install = await ensureKafkaInstalled(o.cacheDir, o.log);
  const paths = serverPaths(o.stackDir, 'kafka');
  await mkdir(paths.configDir, { recursive: true });
  await mkdir(paths.logDir, { recursive: true });
  await mkdir(paths.dataDir, { recursive: true });
  const propertiesFile = join(paths.configDir, 'server.properties');
  await writeFile(propertiesFile, kafkaServerProperties({ ...o, dataDir: paths.dataDir }));
  await writeFile(join(paths.configDir, 'log4j2.properties'), kafkaLog4j2Properties(paths.logDir));

  if (!isFormatted(paths)) {
    o.log(`formatting Kafka storage in ${paths.dataDir}`);
    await formatKafkaStorage(java, install.classPath, paths, newClusterId());
  }
  return launch(kafkaLaunchSpec(java, install, paths, o.kafkaHeap), paths.pidFile, {
    version: install.version,
    brokers: [`127.0.0.1:${o.kafkaPort}`],
    ports: { kafkaPort: o.kafkaPort, kafkaControllerPort: o.kafkaControllerPort },
  });
}
