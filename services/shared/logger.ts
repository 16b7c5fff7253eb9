// Structured JSON logs (pino) for every service, with secrets redacted, plus the
// adapter that routes kafkajs' own logs into the same stream.
import { hostname } from 'node:os';
import { logLevel as KafkaLogLevel } from 'kafkajs';
import type { LogEntry, logCreator } from 'kafkajs';
import { pino } from 'pino';
import type { DestinationStream, Level, Logger } from 'pino';
import { SECRET_KEYS } from '../../schemas/config.ts';

export type { Logger } from 'pino';

export type LogLevelName = Level | 'silent';

export interface CreateLoggerOptions {
  readonly level: LogLevelName;
  /** The service, e.g. `producer` or `applier`: the `service` field of every line. */
  readonly name: string;
  /** Where JSON lines go; stdout by default. Tests pass a collecting stream. */
  readonly destination?: DestinationStream;
}

/** Paths pino blanks out: a secret at the top level, one level down, or in a logged `config`. */
export const REDACTED_PATHS: readonly string[] = [...SECRET_KEYS].flatMap((key) => [key, `*.${key}`, `config.${key}`]);

export function createLogger(options: CreateLoggerOptions): Logger {
  return pino(
    {
      level: options.level,
      base: { service: options.name, pid: process.pid, hostname: hostname() },
      redact: { paths: [...REDACTED_PATHS], censor: '***' },
      // Level names instead of numbers: what log search tools and humans expect.
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ?? pino.destination({ dest: 1, sync: true }),
  );
}

// kafkajs levels, shifted one step down: its INFO is chatty (every connect, join and
// rebalance), so it shows at our debug level; its DEBUG (protocol requests) at trace.
const PINO_LEVEL_OF_KAFKA: Record<number, Level> = {
  [KafkaLogLevel.ERROR]: 'error',
  [KafkaLogLevel.WARN]: 'warn',
  [KafkaLogLevel.INFO]: 'debug',
  [KafkaLogLevel.DEBUG]: 'trace',
};

/** The kafkajs log level that produces exactly what `logger` will print (no wasted work). */
export function kafkaLogLevelFor(logger: Pick<Logger, 'isLevelEnabled'>): KafkaLogLevel {
  if (logger.isLevelEnabled('trace')) return KafkaLogLevel.DEBUG;
  if (logger.isLevelEnabled('debug')) return KafkaLogLevel.INFO;
  if (logger.isLevelEnabled('warn')) return KafkaLogLevel.WARN;
  if (logger.isLevelEnabled('error')) return KafkaLogLevel.ERROR;
  return KafkaLogLevel.NOTHING;
}

/** A kafkajs `logCreator` writing through `logger` with `component: 'kafkajs'` and the namespace. */
export function kafkaLogCreator(logger: Logger): logCreator {
  const kafkaLogger = logger.child({ component: 'kafkajs' });
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      let pinoLevel = PINO_LEVEL_OF_KAFKA[level];
      if (pinoLevel === undefined) return;
      // A failed request is logged by the connection as an error even when kafkajs
      // retries it (e.g. a partition whose leader is being elected); whatever gives up
      // for good is logged again, at error, by the layer above.
      if (namespace === 'Connection' && pinoLevel === 'error' && (log as { error?: unknown }).error !== undefined)
        pinoLevel = 'debug';
      // pino stamps its own time and the component says who logged: drop kafkajs' copies.
      const { message, timestamp: _timestamp, logger: _logger, ...fields } = log;
      kafkaLogger[pinoLevel]({ namespace, ...fields }, message);
    };
}
