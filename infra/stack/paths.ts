// Where the local stack lives and which ports it uses: one pure function from flags,
// environment and home directory to a resolved StackOptions; and the stack directory's
// marker, which makes it safe to purge.
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_BUCKET, LOCAL_STACK } from '../../schemas/config.ts';

export type ServerName = 'kafka' | 's3';
export const S3_SERVERS = ['seaweedfs', 'minio'] as const;
export type S3ServerKind = (typeof S3_SERVERS)[number];
export const SERVER_NAMES: readonly ServerName[] = ['kafka', 's3'];

export interface StackOptions {
  /** Installed servers, shared by every stack of this user: `~/.cache/mirrorlog`. */
  cacheDir: string;
  /** Data, pid files and logs of this stack: `~/.local/state/mirrorlog/stack`. */
  stackDir: string;
  kafkaPort: number;
  kafkaControllerPort: number;
  s3Port: number;
  s3AccessKey: string;
  s3SecretKey: string;
  region: string;
  bucket: string;
  /** Which S3 server runs: SeaweedFS (default) or MinIO (MIRRORLOG_STACK_S3_SERVER). */
  s3Server: S3ServerKind;
  /**
   * MinIO only: a directory with public.crt and private.key (and CAs/ca.crt for the
   * probes) to serve https instead of http.
   */
  s3CertsDir?: string;
  /** JVM heap ceiling of the broker, e.g. `768m`. */
  kafkaHeap: string;
  /** How long `up` waits for both servers to answer. */
  startTimeoutMs: number;
  /** Progress lines (installs, starts); the CLI sends them to stderr. */
  log: (line: string) => void;
}

/** What a caller may set; everything else comes from the environment or the defaults. */
export type StackOverrides = Partial<StackOptions>;

export const ENV = {
  cacheDir: 'MIRRORLOG_CACHE_DIR',
  stackDir: 'MIRRORLOG_STACK_DIR',
  kafkaPort: 'MIRRORLOG_STACK_KAFKA_PORT',
  kafkaControllerPort: 'MIRRORLOG_STACK_KAFKA_CONTROLLER_PORT',
  s3Port: 'MIRRORLOG_STACK_S3_PORT',
  s3Server: 'MIRRORLOG_STACK_S3_SERVER',
} as const;

function envS3Server(env: NodeJS.ProcessEnv): S3ServerKind | undefined {
  const value = env[ENV.s3Server];
  if (value === undefined || value === '') return undefined;
  if (!(S3_SERVERS as readonly string[]).includes(value))
    throw new RangeError(`${ENV.s3Server}: expected ${S3_SERVERS.join(' or ')}, got '${value}'`);
  return value as S3ServerKind;
}

const DEFAULT_START_TIMEOUT_MS = 120_000;

/** A TCP port number, or an error message naming `what`. */
export function parsePort(text: string, what: string): number {
  const port = /^\d{1,5}$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`${what}: expected a port number 1-65535, got '${text}'`);
  }
  return port;
}

function envPort(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : parsePort(value, name);
}

function envDir(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : resolve(value);
}

/**
 * Flags (overrides) > environment > defaults. The controller port follows the broker
 * port (`kafkaPort + 1`) unless set, so a stack moved to other ports moves as a whole.
 */
export function resolveStackOptions(
  overrides: StackOverrides = {},
  env: NodeJS.ProcessEnv = process.env,
  home: string = homedir(),
): StackOptions {
  const kafkaPort = overrides.kafkaPort ?? envPort(env, ENV.kafkaPort) ?? LOCAL_STACK.kafkaPort;
  const kafkaControllerPort =
    overrides.kafkaControllerPort ??
    envPort(env, ENV.kafkaControllerPort) ??
    (kafkaPort === LOCAL_STACK.kafkaPort ? LOCAL_STACK.kafkaControllerPort : kafkaPort + 1);
  const options: StackOptions = {
    cacheDir: overrides.cacheDir ?? envDir(env, ENV.cacheDir) ?? join(home, '.cache', 'mirrorlog'),
    stackDir: overrides.stackDir ?? envDir(env, ENV.stackDir) ?? join(home, '.local', 'state', 'mirrorlog', 'stack'),
    kafkaPort,
    kafkaControllerPort,
    s3Port: overrides.s3Port ?? envPort(env, ENV.s3Port) ?? LOCAL_STACK.s3Port,
    s3AccessKey: overrides.s3AccessKey ?? LOCAL_STACK.s3AccessKey,
    s3SecretKey: overrides.s3SecretKey ?? LOCAL_STACK.s3SecretKey,
    region: overrides.region ?? LOCAL_STACK.region,
    s3Server: overrides.s3Server ?? envS3Server(env) ?? 'seaweedfs',
    ...(overrides.s3CertsDir === undefined ? {} : { s3CertsDir: overrides.s3CertsDir }),
    bucket: overrides.bucket ?? DEFAULT_BUCKET,
    kafkaHeap: overrides.kafkaHeap ?? '768m',
    startTimeoutMs: overrides.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS,
    log: overrides.log ?? ((line) => process.stderr.write(`${line}\n`)),
  };
  const clash = portClash(options);
  if (clash !== undefined) throw new RangeError(clash);
  return options;
}

/** Every port one stack listens on, by purpose. SeaweedFS's own ports follow the S3 port. */
export function stackPorts(
  o: Pick<StackOptions, 'kafkaPort' | 'kafkaControllerPort' | 's3Port'>,
): Record<string, number> {
  return {
    kafka: o.kafkaPort,
    'kafka controller': o.kafkaControllerPort,
    ...seaweedPorts(o.s3Port),
  };
}

/**
 * SeaweedFS `weed mini` opens master, volume, filer, S3 and admin servers, each with an
 * HTTP and a gRPC port. They sit in one block beside the S3 port (gRPC at +10000,
 * SeaweedFS's own convention) instead of its scattered defaults (9333, 9340, 8888,
 * 12535, ...). It also makes unix sockets /tmp/seaweedfs-*-<port>.sock named by them.
 */
export function seaweedPorts(s3Port: number): Record<string, number> {
  return {
    s3: s3Port,
    's3 grpc': s3Port + 10_000,
    'seaweedfs master': s3Port + 1,
    'seaweedfs master grpc': s3Port + 10_001,
    'seaweedfs volume': s3Port + 2,
    'seaweedfs volume grpc': s3Port + 10_002,
    'seaweedfs filer': s3Port + 3,
    'seaweedfs filer grpc': s3Port + 10_003,
    'seaweedfs admin': s3Port + 4,
    'seaweedfs admin grpc': s3Port + 10_004,
  };
}

/** A message naming two purposes that share a port, or one out of range; undefined if none. */
export function portClash(o: Pick<StackOptions, 'kafkaPort' | 'kafkaControllerPort' | 's3Port'>): string | undefined {
  const seen = new Map<number, string>();
  for (const [purpose, port] of Object.entries(stackPorts(o))) {
    if (port < 1 || port > 65535) return `the ${purpose} port would be ${port}: choose a lower S3 port`;
    const other = seen.get(port);
    if (other !== undefined) return `the ${other} and ${purpose} ports are both ${port}: choose other ports`;
    seen.set(port, purpose);
  }
  return undefined;
}

/** The files of one server inside the stack directory. */
export interface ServerPaths {
  dir: string;
  dataDir: string;
  logDir: string;
  configDir: string;
  pidFile: string;
  /** stdout and stderr of the process. */
  consoleLog: string;
}

/** The layout every server directory has (stack servers and cluster nodes alike). */
export function serverPathsIn(dir: string, pidFileName: string): ServerPaths {
  return {
    dir,
    dataDir: join(dir, 'data'),
    logDir: join(dir, 'logs'),
    configDir: join(dir, 'config'),
    pidFile: join(dir, pidFileName),
    consoleLog: join(dir, 'logs', 'console.log'),
  };
}

export function serverPaths(stackDir: string, server: ServerName): ServerPaths {
  return serverPathsIn(join(stackDir, server), `${server}.pid.json`);
}

/** A file whose presence says "this directory is a mirrorlog stack" (guards `--purge`). */
export const STACK_MARKER = '.mirrorlog-stack';

/** Creates `dir`, marked as ours (the marker file says what it holds) so that `down --purge` may delete it. */
export async function prepareMarkedDir(dir: string, holds: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  const marker = join(dir, STACK_MARKER);
  if (!existsSync(marker)) await writeFile(marker, `${holds}\n`);
}

/** Creates the stack directory, marked as ours so that `down --purge` may delete it. */
export async function prepareStackDir(o: StackOptions): Promise<void> {
  await prepareMarkedDir(o.stackDir, 'mirrorlog local stack: data, pid files and logs of Kafka and S3');
}

/** Refuses to delete a directory that is not a stack directory (a mistyped MIRRORLOG_STACK_DIR). */
export async function assertIsStackDir(dir: string): Promise<void> {
  if (existsSync(join(dir, STACK_MARKER))) return;
  const entries = (await readdir(dir)).filter((e) => e !== 'stack.lock');
  if (entries.length > 0)
    throw new Error(`${dir} does not look like a mirrorlog stack directory (no ${STACK_MARKER}); not deleting it`);
}
