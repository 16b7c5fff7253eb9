// `mirrorlog stack <up|down|status> --cluster`: the local 3-node Kafka cluster, beside
// the single-broker stack (own ports and directory; both can run at once).
import { CliError, withOperatorErrors } from '../../services/shared/errors.ts';
import { parsePort } from './paths.ts';
import { resolveClusterOptions, type ClusterOverrides } from './cluster-config.ts';
import { clusterDown, ensureClusterUp } from './cluster.ts';
import { clusterStatus, type ClusterStatus } from './cluster-status.ts';

type Values = Record<string, string | boolean | undefined>;

export function clusterOverridesFrom(values: Values): ClusterOverrides {
  if (typeof values.instance === 'string')
    throw new CliError('--cluster has its own directory and ports; leave out --instance');
  if (values['s3-port'] !== undefined)
    throw new CliError("--cluster runs Kafka only (S3 stays the stack's); leave out --s3-port");
  const overrides: ClusterOverrides = {};
  try {
    if (typeof values['kafka-port'] === 'string') overrides.basePort = parsePort(values['kafka-port'], '--kafka-port');
    resolveClusterOptions(overrides);
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  return overrides;
}

export function formatClusterStatus(status: ClusterStatus): string {
  if (!status.created) return `cluster    not created  (mirrorlog stack up --cluster)  directory ${status.dir}`;
  const rows = status.nodes.map((n) => {
    const role = n.nodeId === status.activeController ? ' (active controller)' : '';
    const state = n.running ? (n.registered ? 'healthy' : 'not registered') : 'stopped';
    const pid = n.pid === undefined ? '-' : `pid ${n.pid}`;
    return `cluster    node ${n.nodeId}  ${state.padEnd(14)}  127.0.0.1:${n.ports.client}  ${pid}${role}`;
  });
  return [
    ...rows,
    `cluster    bootstrap servers ${status.bootstrapServers.plaintext.join(',')}  directory ${status.dir}`,
  ].join('\n');
}

export async function runCluster(subcommand: string, values: Values, overrides: ClusterOverrides): Promise<number> {
  switch (subcommand) {
    case 'up': {
      const result = await withOperatorErrors(() => ensureClusterUp(overrides));
      if (!result.started) process.stdout.write('cluster already running\n');
      const status = await clusterStatus(overrides);
      process.stdout.write(`${formatClusterStatus(status)}\n`);
      process.stdout.write(`brokers ${result.bootstrapServers.plaintext.join(',')}\n`);
      return status.healthy ? 0 : 1;
    }
    case 'down': {
      const result = await withOperatorErrors(() => clusterDown({ ...overrides, purge: values.purge === true }));
      if (Object.keys(result.stopped).length === 0) process.stdout.write('cluster: was not created\n');
      for (const [name, outcome] of Object.entries(result.stopped)) {
        process.stdout.write(`cluster ${name}: ${outcome === 'not-running' ? 'was not running' : outcome}\n`);
      }
      if (result.purged) process.stdout.write('cluster data deleted\n');
      return 0;
    }
    case 'status': {
      const status = await withOperatorErrors(() => clusterStatus(overrides));
      process.stdout.write(
        values.json === true ? `${JSON.stringify(status, null, 2)}\n` : `${formatClusterStatus(status)}\n`,
      );
      return status.healthy ? 0 : 1;
    }
    default:
      throw new CliError(`stack: unknown subcommand '${subcommand}' (up, down, status)`);
  }
}
