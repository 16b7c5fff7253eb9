// `mirrorlog stack --help`: every option with what it does, its default and its variable,
// like the services' --help. The defaults are read from the resolvers themselves (with an
// empty environment and `~` as home), so the help cannot drift from what `up` really does.
import { formatDuration, formatHelpRows, type HelpRow } from '../../services/shared/config-options.ts';
import { CLUSTER_ENV, DEFAULT_CLUSTER_NODES, resolveClusterOptions } from './cluster-config.ts';
import { instanceDir } from './instance.ts';
import { ENV, resolveStackOptions, S3_SERVERS, stackPorts } from './paths.ts';

/** The ports SeaweedFS opens beside its S3 port, as `first-last`. */
function seaweedRange(ports: Record<string, number>): string {
  const own = Object.entries(ports)
    .filter(([purpose]) => purpose.startsWith('seaweedfs ') && !purpose.endsWith(' grpc'))
    .map(([, port]) => port);
  return `${Math.min(...own)}-${Math.max(...own)}`;
}

function range(first: number, count: number): string {
  return `${first}-${first + count - 1}`;
}

export function stackUsage(): string {
  const stack = resolveStackOptions({ log: () => undefined }, {}, '~');
  const cluster = resolveClusterOptions({}, {}, '~');
  const ports = stackPorts(stack);
  const nodes = DEFAULT_CLUSTER_NODES;
  const rows: HelpRow[] = [
    {
      left: '--kafka-port N',
      text: 'port of the Kafka broker (up, status); its controller listens on the next one',
      facts: `default: ${stack.kafkaPort} (controller ${stack.kafkaControllerPort}) · ${ENV.kafkaPort}`,
    },
    {
      left: '--s3-port N',
      text: "port of the S3 server (up, status); SeaweedFS's own servers take the next ports",
      facts: `default: ${stack.s3Port} (SeaweedFS ${seaweedRange(ports)}, gRPC +10000) · ${ENV.s3Port}`,
    },
    {
      left: `--s3-server <${S3_SERVERS.join('|')}>`,
      text: 'the S3 server (up, status): SeaweedFS, or MinIO built from source on first use',
      facts: `default: ${stack.s3Server} · ${ENV.s3Server}`,
    },
    {
      left: '--timeout <duration>',
      text: 'how long up waits for both servers to answer',
      facts: `default: ${formatDuration(stack.startTimeoutMs)}`,
    },
    { left: '--purge', text: "down: also delete the servers' data (the installs stay)", facts: 'default: off' },
    { left: '--json', text: 'status: print JSON instead of a table', facts: 'default: off' },
    {
      left: '--instance NAME',
      text: "a private stack with its own directory and free ports, chosen on its first 'up' and kept",
      facts: `default: the default stack · ${instanceDir('NAME', {}, '~')}`,
    },
    {
      left: '--cluster',
      text: `the same commands for a local ${nodes}-node KRaft Kafka cluster (--kafka-port N: nodes at N, N+1, ...)`,
      facts:
        `default: off · nodes on ${range(cluster.basePort, nodes)}, controllers ` +
        `${range(cluster.basePort + 10, nodes)} · ${CLUSTER_ENV.basePort}`,
    },
    { left: '--help, -h', text: 'show this help', facts: '' },
  ];
  const places: HelpRow[] = [
    {
      left: 'stack directory',
      text: 'data, pid files and logs of the stack',
      facts: `${stack.stackDir} · ${ENV.stackDir}`,
    },
    { left: 'cluster directory', text: 'data and logs of the cluster', facts: `${cluster.dir} · ${CLUSTER_ENV.dir}` },
    {
      left: 'install cache',
      text: 'the installed servers, shared by every stack',
      facts: `${stack.cacheDir} · ${ENV.cacheDir}`,
    },
  ];
  return `usage: mirrorlog stack <up|down|status> [options]

  up      [--kafka-port N] [--s3-port N] [--s3-server S] [--timeout D] [--instance NAME] [--cluster]
          install on first use, start Kafka and S3 on 127.0.0.1, wait until both
          answer, create the bucket '${stack.bucket}'; says "already running" when they are
  down    [--purge] [--instance NAME] [--cluster]
          stop the servers this stack started; --purge also deletes their data
  status  [--json] [--kafka-port N] [--s3-port N] [--instance NAME] [--cluster]
          health of each server; exit 1 unless both are healthy

options (flag > environment > default; durations as 90s, 3m):
${formatHelpRows(rows)}

directories (environment > default):
${formatHelpRows(places)}

Tests that stop servers use --instance, so the default stack (and a mirror on it) is never disturbed.
Plain 'stack status' also shows the cluster once it is made; plain 'stack down' stops it too.`;
}
