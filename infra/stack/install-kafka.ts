// Kafka from Maven Central: `mvn dependency:copy-dependencies` on infra/kafka/pom.xml
// puts org.apache.kafka:kafka_2.13 and its runtime dependencies into <cache>/kafka-*/libs.
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError } from '../../services/shared/errors.ts';
import { formatElapsed, installOnce, isInstalled, requireTool, runStep } from './install.ts';

/** The pom sits beside the sources (infra/kafka) or, in a build, two levels further up. */
export function kafkaPomPath(): string {
  const candidates = [
    new URL('../kafka/pom.xml', import.meta.url),
    new URL('../../../infra/kafka/pom.xml', import.meta.url),
  ];
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return path;
  }
  throw new Error(`infra/kafka/pom.xml not found (looked in ${candidates.map((u) => fileURLToPath(u)).join(', ')})`);
}

/** The pinned version, read from the pom's `<kafka.version>` property. */
export function kafkaVersionOf(pom: string): string {
  const match = /<kafka\.version>\s*([^<\s]+)\s*<\/kafka\.version>/.exec(pom);
  if (match === null) throw new Error('infra/kafka/pom.xml has no <kafka.version> property');
  return match[1]!;
}

export interface KafkaInstall {
  version: string;
  dir: string;
  /** Class path entry for `java -cp`. */
  classPath: string;
}

/** Where a pom installs: the version plus a hash of the whole pom, so any edit installs afresh. */
export function kafkaInstallDir(cacheDir: string, pom: string): string {
  const hash = createHash('sha256').update(pom).digest('hex').slice(0, 10);
  return join(cacheDir, `kafka-${kafkaVersionOf(pom)}-${hash}`);
}

function describe(dir: string, version: string): KafkaInstall {
  return { version, dir, classPath: join(dir, 'libs', '*') };
}

function requireMaven(version: string): Promise<string> {
  return requireTool(
    'mvn',
    `installing Kafka ${version} from Maven Central`,
    'Apache Maven (e.g. apt-get install maven)',
  );
}

/** Fails at once, in one line, when installing would need a tool that is missing. */
export async function checkKafkaInstallTools(cacheDir: string): Promise<void> {
  const pom = await readFile(kafkaPomPath(), 'utf8');
  if (!(await isInstalled(kafkaInstallDir(cacheDir, pom)))) await requireMaven(kafkaVersionOf(pom));
}

/** The installed broker, installing it first when needed. */
export async function ensureKafkaInstalled(cacheDir: string, log: (line: string) => void): Promise<KafkaInstall> {
  const pomPath = kafkaPomPath();
  const pom = await readFile(pomPath, 'utf8');
  const version = kafkaVersionOf(pom);
  const dir = kafkaInstallDir(cacheDir, pom);
  if (await isInstalled(dir)) return describe(dir, version);

  const mvn = await requireMaven(version);
  const started = Date.now();
  log(`installing Kafka ${version}: downloading its jars from Maven Central with mvn into ${dir}`);
  await installOnce(dir, async (temp) => {
    // Run from a copy so Maven writes nothing into the repository.
    await copyFile(pomPath, join(temp, 'pom.xml'));
    await runStep(
      mvn,
      [
        '-B',
        '--no-transfer-progress',
        'dependency:copy-dependencies',
        '-DincludeScope=runtime',
        `-DoutputDirectory=${join(temp, 'libs')}`,
      ],
      { cwd: temp, logFile: join(temp, 'install.log') },
    );
    const jars = await readdir(join(temp, 'libs')).catch(() => [] as string[]);
    if (!jars.includes(`kafka_2.13-${version}.jar`)) {
      throw new CliError(`mvn did not fetch kafka_2.13-${version}.jar; see ${join(temp, 'install.log')}`, 1);
    }
    log(`  fetched ${jars.length} jars`);
  });
  log(`installed Kafka ${version} in ${formatElapsed(Date.now() - started)}`);
  return describe(dir, version);
}
