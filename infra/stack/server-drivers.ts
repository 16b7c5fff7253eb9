// What differs between the stack's servers (Kafka, S3 by SeaweedFS or MinIO), as one
// driver each: how to check its tools, start it, probe it, where it listens and logs, and
// how to recognise its process. Everything else handles the servers alike through these.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { probeKafka, probeS3, probeS3Writable, type Probe, type S3Settings } from './health.ts';
import { checkKafkaInstallTools } from './install-kafka.ts';
import { checkMinioInstallTools } from './install-minio.ts';
import { checkSeaweedInstallTools } from './install-seaweedfs.ts';
import { findJava, startKafka } from './kafka-server.ts';
import { startMinio } from './minio-server.ts';
import { seaweedPorts, serverPaths, type ServerName, type StackOptions } from './paths.ts';
import type { PidRecord } from './processes.ts';
import { startS3, weedLogFile } from './s3-server.ts';

export interface ServerDriver {
  label: string;
  /** Throws a one-line error when a tool needed to install or run the server is missing. */
  checkTools(o: StackOptions): Promise<void>;
  start(o: StackOptions): Promise<PidRecord>;
  probe(o: StackOptions): Promise<Probe>;
  /** What `up` waits for after a start: answering and ready for work. */
  ready(o: StackOptions): Promise<Probe>;
  endpoint(o: StackOptions): string;
  ports(o: StackOptions): number[];
  /** Logs worth quoting when the server fails, most telling first. */
  logs(o: StackOptions): string[];
  /** How long SIGTERM may take before SIGKILL. */
  graceMs: number;
  /** An argument only this stack's process of this server has. */
  marker(o: StackOptions): string;
}

/** MinIO with a certificates directory serves https; the probes trust its CAs/ca.crt. */
const s3Ca = (o: StackOptions): Buffer | undefined =>
  o.s3CertsDir === undefined ? undefined : readFileSync(join(o.s3CertsDir, 'CAs', 'ca.crt'));

export const s3Settings = (o: StackOptions): S3Settings => ({
  ...(s3Ca(o) === undefined ? {} : { ca: s3Ca(o) }),
  port: o.s3Port,
  accessKey: o.s3AccessKey,
  secretKey: o.s3SecretKey,
  region: o.region,
  bucket: o.bucket,
});

export const DRIVERS: Record<ServerName, ServerDriver> = {
  kafka: {
    label: 'Kafka',
    checkTools: async (o) => {
      await findJava();
      await checkKafkaInstallTools(o.cacheDir);
    },
    start: startKafka,
    probe: (o) => probeKafka([`127.0.0.1:${o.kafkaPort}`]),
    ready: (o) => probeKafka([`127.0.0.1:${o.kafkaPort}`]),
    endpoint: (o) => `127.0.0.1:${o.kafkaPort}`,
    ports: (o) => [o.kafkaPort, o.kafkaControllerPort],
    logs: (o) => [
      serverPaths(o.stackDir, 'kafka').consoleLog,
      join(serverPaths(o.stackDir, 'kafka').logDir, 'server.log'),
    ],
    graceMs: 30_000,
    marker: (o) => join(serverPaths(o.stackDir, 'kafka').configDir, 'server.properties'),
  },
  s3: {
    label: 'S3 (SeaweedFS)',
    checkTools: (o) => checkSeaweedInstallTools(o.cacheDir),
    start: startS3,
    probe: (o) => probeS3(s3Settings(o)),
    ready: (o) => probeS3Writable(s3Settings(o)),
    endpoint: (o) => `http://127.0.0.1:${o.s3Port}`,
    ports: (o) => Object.values(seaweedPorts(o.s3Port)),
    logs: (o) => [serverPaths(o.stackDir, 's3').consoleLog, weedLogFile(serverPaths(o.stackDir, 's3'))],
    graceMs: 15_000,
    marker: (o) => `-dir=${serverPaths(o.stackDir, 's3').dataDir}`,
  },
};

/** The S3 slot of the stack served by MinIO instead of SeaweedFS. */
const MINIO_DRIVER: ServerDriver = {
  label: 'S3 (MinIO)',
  checkTools: (o) => checkMinioInstallTools(o.cacheDir),
  start: startMinio,
  probe: (o) => probeS3(s3Settings(o)),
  ready: (o) => probeS3Writable(s3Settings(o)),
  endpoint: (o) => `${o.s3CertsDir === undefined ? 'http' : 'https'}://127.0.0.1:${o.s3Port}`,
  ports: (o) => [o.s3Port, o.s3Port + 1],
  logs: (o) => [serverPaths(o.stackDir, 's3').consoleLog],
  graceMs: 15_000,
  marker: (o) => serverPaths(o.stackDir, 's3').dataDir,
};

export function driverFor(o: StackOptions, name: ServerName): ServerDriver {
  return name === 's3' && o.s3Server === 'minio' ? MINIO_DRIVER : DRIVERS[name];
}
