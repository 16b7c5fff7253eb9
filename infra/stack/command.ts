// `mirrorlog stack up | down [--purge] | status [--json]`: the local Kafka + S3 stack.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { parseDuration } from '../../schemas/config.ts';
import { CliError, withOperatorErrors } from '../../services/shared/errors.ts';
import { clusterOverridesFrom, formatClusterStatus, runCluster } from './cluster-command.ts';
import { clusterStatus } from './cluster-status.ts';
import { instanceOverrides, recordedInstancePorts, instanceDir, instanceNameProblem } from './instance.ts';
import { parsePort, resolveStackOptions, S3_SERVERS, type S3ServerKind, type StackOverrides } from './paths.ts';
import { ensureStackUp, stackDown } from './stack.ts';
import { stackStatus, type ServerStatus, type StackStatus } from './stack-status.ts';
import { stackUsage } from './usage.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

const PORT_OPTIONS: Options = {
  'kafka-port': { type: 'string' },
  's3-port': { type: 'string' },
  's3-server': { type: 'string' },
};
const INSTANCE: Options = { instance: { type: 'string' }, cluster: { type: 'boolean' } };
/** The options of each subcommand (`--help` is checked to describe every one). */
export const SUBCOMMANDS: Record<string, Options> = {
  up: { ...PORT_OPTIONS, ...INSTANCE, timeout: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  down: { ...INSTANCE, purge: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
  status: { ...PORT_OPTIONS, ...INSTANCE, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
};

type Values = Record<string, string | boolean | undefined>;

/** parseArgs in strict mode, its errors turned into CliErrors that name the bad flag. */
export function parseStackArgs(subcommand: string, args: string[]): Values {
  const options = SUBCOMMANDS[subcommand];
  if (options === undefined) throw new CliError(`stack: unknown subcommand '${subcommand}' (up, down, status)`);
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values as Values;
  } catch (error) {
    const code = (error as { code?: string }).code;
    const message = error instanceof Error ? error.message : String(error);
    const flag = /'(-[^' ]+)/.exec(message)?.[1];
    const known = Object.keys(options)
      .map((name) => `--${name}`)
      .join(', ');
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      throw new CliError(`stack ${subcommand}: unknown option '${flag ?? message}' (options: ${known})`);
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL')
      throw new CliError(`stack ${subcommand}: unexpected argument (${message})`);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE')
      throw new CliError(`stack ${subcommand}: ${flag ?? 'an option'} needs a value`);
    throw new CliError(`stack ${subcommand}: ${message}`);
  }
}

/** Flag values → StackOverrides, with errors naming the flag. */
export function overridesFrom(values: Values): StackOverrides {
  const overrides: StackOverrides = {};
  try {
    if (typeof values['kafka-port'] === 'string') overrides.kafkaPort = parsePort(values['kafka-port'], '--kafka-port');
    if (typeof values['s3-port'] === 'string') overrides.s3Port = parsePort(values['s3-port'], '--s3-port');
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  if (typeof values['s3-server'] === 'string') {
    const server = values['s3-server'];
    if (!(S3_SERVERS as readonly string[]).includes(server))
      throw new CliError(`--s3-server: expected ${S3_SERVERS.join(' or ')}, got '${server}'`);
    overrides.s3Server = server as S3ServerKind;
  }
  if (typeof values.timeout === 'string') {
    const ms = parseDuration(values.timeout);
    if (ms === undefined || ms <= 0)
      throw new CliError(`--timeout: expected a duration like 90s or 3m, got '${values.timeout}'`);
    overrides.startTimeoutMs = ms;
  }
  return overrides;
}

/**
 * `--instance NAME`: its directory and recorded ports. `up` draws free ports the first
 * time; `status` of an instance that was never brought up is an error rather than a
 * probe of the default ports (which would report the default stack's servers).
 */
export async function instanceFrom(subcommand: string, values: Values): Promise<StackOverrides> {
  const name = values.instance;
  if (typeof name !== 'string') return {};
  const problem = instanceNameProblem(name);
  if (problem !== undefined) throw new CliError(`--instance: ${problem}`);
  if (values['kafka-port'] !== undefined || values['s3-port'] !== undefined) {
    throw new CliError('--instance chooses its own free ports; leave out --kafka-port and --s3-port');
  }
  if (subcommand === 'up') return instanceOverrides(name);
  const ports = await recordedInstancePorts(name);
  if (ports !== undefined) return { stackDir: instanceDir(name), ...ports };
  if (subcommand === 'down') return { stackDir: instanceDir(name) };
  throw new CliError(
    `no stack instance '${name}' (never brought up; 'mirrorlog stack up --instance ${name}' makes it)`,
  );
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, col) => Math.max(...rows.map((row) => row[col]!.length)));
  return rows
    .map((row) => row.map((cell, col) => (col === row.length - 1 ? cell : cell.padEnd(widths[col]!))).join('  '))
    .join('\n');
}

function serverRow(s: ServerStatus): string[] {
  const process = s.pid === undefined ? '-' : `pid ${s.pid}`;
  return [s.name, s.healthy ? 'healthy' : 'unhealthy', s.endpoint, process, s.detail];
}

export function formatStatus(status: StackStatus): string {
  const servers = table([serverRow(status.servers.kafka), serverRow(status.servers.s3)]);
  return `${servers}\nstack directory: ${status.stackDir}`;
}

export async function run(argv: string[]): Promise<number> {
  const [subcommand, ...args] = argv;
  if (subcommand === undefined || subcommand === '--help' || subcommand === '-h' || subcommand === 'help') {
    process.stdout.write(`${stackUsage()}\n`);
    return subcommand === undefined ? 2 : 0;
  }
  const values = parseStackArgs(subcommand, args);
  if (values.help === true) {
    process.stdout.write(`${stackUsage()}\n`);
    return 0;
  }
  if (values.cluster === true) return runCluster(subcommand, values, clusterOverridesFrom(values));
  const overrides = { ...overridesFrom(values), ...(await instanceFrom(subcommand, values)) };
  // The default cluster belongs to the default stack: its status shows, its down stops it.
  const withCluster = typeof values.instance !== 'string';
  try {
    resolveStackOptions(overrides); // a bad MIRRORLOG_STACK_* variable is a usage error too
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  switch (subcommand) {
    case 'up': {
      const result = await withOperatorErrors(() => ensureStackUp(overrides));
      const status = await stackStatus(overrides);
      if (!result.started) process.stdout.write('stack already running\n');
      process.stdout.write(`${formatStatus(status)}\n`);
      process.stdout.write(
        `brokers ${result.kafkaBrokers.join(',')}  s3 endpoint ${result.s3Endpoint}  bucket ${result.bucket}\n`,
      );
      return status.healthy ? 0 : 1;
    }
    case 'down': {
      const result = await withOperatorErrors(() => stackDown({ ...overrides, purge: values.purge === true }));
      for (const [name, outcome] of Object.entries(result.stopped)) {
        process.stdout.write(`${name}: ${outcome === 'not-running' ? 'was not running' : outcome}\n`);
      }
      if (result.purged) process.stdout.write('stack data deleted\n');
      if (withCluster && (await clusterStatus()).created) await runCluster('down', values, {});
      return 0;
    }
    case 'status': {
      const status = await withOperatorErrors(() => stackStatus(overrides));
      const cluster = withCluster ? await clusterStatus() : undefined;
      const shown = cluster?.created === true ? cluster : undefined;
      if (values.json === true)
        process.stdout.write(
          `${JSON.stringify(shown === undefined ? status : { ...status, cluster: shown }, null, 2)}\n`,
        );
      else
        process.stdout.write(
          `${formatStatus(status)}${shown === undefined ? '' : `\n${formatClusterStatus(shown)}`}\n`,
        );
      return status.healthy ? 0 : 1;
    }
    default:
      throw new CliError(`stack: unknown subcommand '${subcommand}' (up, down, status)`);
  }
}
