// The stack's health as `status` reports it: per server, whether a process this stack
// started runs, and whether the server answers at the ports it was started with.
import { driverFor } from './server-drivers.ts';
import { resolveStackOptions, serverPaths, type ServerName, type StackOptions, type StackOverrides } from './paths.ts';
import { isOurs, readPidFile, type PidRecord } from './processes.ts';

export interface ServerStatus {
  name: ServerName;
  label: string;
  healthy: boolean;
  /** A process this stack started is alive. */
  running: boolean;
  pid?: number;
  version?: string;
  startedAt?: string;
  endpoint: string;
  detail: string;
  logs: string[];
}

export interface StackStatus {
  healthy: boolean;
  stackDir: string;
  cacheDir: string;
  servers: Record<ServerName, ServerStatus>;
}

/** The ports a running server was started with win over the options (`up --kafka-port` then plain `status`). */
function withRecordedPorts(o: StackOptions, name: ServerName, record: PidRecord | undefined): StackOptions {
  const ports = record?.info.ports as Partial<StackOptions> | undefined;
  if (ports === undefined) return o;
  return name === 'kafka'
    ? {
        ...o,
        kafkaPort: ports.kafkaPort ?? o.kafkaPort,
        kafkaControllerPort: ports.kafkaControllerPort ?? o.kafkaControllerPort,
      }
    : { ...o, s3Port: ports.s3Port ?? o.s3Port };
}

export async function serverStatus(base: StackOptions, name: ServerName): Promise<ServerStatus> {
  const driver = driverFor(base, name);
  const found = await readPidFile(serverPaths(base.stackDir, name).pidFile);
  const record = found !== undefined && (await isOurs(found)) ? found : undefined;
  const o = withRecordedPorts(base, name, record);
  const probe = await driver.probe(o);
  return {
    name,
    label: driver.label,
    healthy: probe.ok,
    running: record !== undefined,
    ...(record === undefined
      ? {}
      : {
          pid: record.pid,
          startedAt: record.startedAt,
          version: String((record.info.version as string | undefined) ?? ''),
        }),
    endpoint: driver.endpoint(o),
    detail: record === undefined && probe.ok ? `${probe.detail} (not started by this stack)` : probe.detail,
    logs: driver.logs(o),
  };
}

export async function stackStatus(overrides: StackOverrides = {}): Promise<StackStatus> {
  const o = resolveStackOptions(overrides);
  const [kafka, s3] = await Promise.all([serverStatus(o, 'kafka'), serverStatus(o, 's3')]);
  return { healthy: kafka.healthy && s3.healthy, stackDir: o.stackDir, cacheDir: o.cacheDir, servers: { kafka, s3 } };
}
