// TLS and SASL for every Kafka client mirrorlog makes (producer, applier and its dead-letter
// producer, status, verify, restore, gc): from the common config to kafkajs' `ssl` and
// `sasl` options. Files are read once here, so a missing CA or key is a one-line error
// naming the option at start, never a TLS failure later. No secret is ever put in a message.
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import type { SASLOptions } from 'kafkajs';
import type { CommonConfig } from '../../schemas/config.ts';
import { envName, flagName } from '../../schemas/config.ts';
import { CliError } from './errors.ts';

export type KafkaSecurityConfig = Pick<
  CommonConfig,
  | 'kafkaTls'
  | 'kafkaCaFile'
  | 'kafkaCertFile'
  | 'kafkaKeyFile'
  | 'kafkaSaslMechanism'
  | 'kafkaSaslUsername'
  | 'kafkaSaslPassword'
  | 'kafkaSaslPasswordFile'
>;

/** What createKafka passes to kafkajs: absent for a plaintext cluster. */
export interface KafkaClientSecurity {
  readonly ssl?: ConnectionOptions;
  readonly sasl?: SASLOptions;
}

type FileReader = (path: string) => Buffer;

function label(key: keyof KafkaSecurityConfig): string {
  return `--${flagName(key)} (${envName(key)})`;
}

function readOption(key: keyof KafkaSecurityConfig, path: string, read: FileReader): Buffer {
  try {
    return read(path);
  } catch (error) {
    throw new CliError(
      `${label(key)}: cannot read ${path}: ${(error as { code?: string }).code ?? (error as Error).message}`,
    );
  }
}

/** The SASL password: from the file (trailing newline dropped) or the value itself, never both. */
function saslPassword(config: KafkaSecurityConfig, read: FileReader): string {
  if (config.kafkaSaslPassword !== undefined && config.kafkaSaslPasswordFile !== undefined) {
    throw new CliError(`${label('kafkaSaslPassword')} and ${label('kafkaSaslPasswordFile')}: give one, not both`);
  }
  if (config.kafkaSaslPasswordFile !== undefined) {
    const text = readOption('kafkaSaslPasswordFile', config.kafkaSaslPasswordFile, read)
      .toString('utf8')
      .replace(/\r?\n$/, '');
    if (text === '') throw new CliError(`${label('kafkaSaslPasswordFile')}: ${config.kafkaSaslPasswordFile} is empty`);
    return text;
  }
  if (config.kafkaSaslPassword !== undefined) return config.kafkaSaslPassword;
  throw new CliError(
    `${label('kafkaSaslMechanism')} needs a password: ` +
      `set ${label('kafkaSaslPasswordFile')} or ${envName('kafkaSaslPassword')}`,
  );
}

/**
 * kafkajs options for the configured security. TLS is on when asked for, when a CA or a
 * client certificate is given, or with SASL (mirrorlog never sends a password in clear).
 */
export function kafkaClientSecurity(config: KafkaSecurityConfig, read: FileReader = readFileSync): KafkaClientSecurity {
  if ((config.kafkaCertFile === undefined) !== (config.kafkaKeyFile === undefined)) {
    throw new CliError(
      `${label('kafkaCertFile')} and ${label('kafkaKeyFile')} go together: a client certificate needs its key`,
    );
  }
  const usesSasl = config.kafkaSaslMechanism !== undefined;
  if (
    !usesSasl &&
    (config.kafkaSaslUsername !== undefined ||
      config.kafkaSaslPassword !== undefined ||
      config.kafkaSaslPasswordFile !== undefined)
  ) {
    throw new CliError(
      `a SASL user or password is set but no mechanism: ` +
        `set ${label('kafkaSaslMechanism')} (plain, scram-sha-256, scram-sha-512)`,
    );
  }
  const tls = config.kafkaTls || usesSasl || config.kafkaCaFile !== undefined || config.kafkaCertFile !== undefined;
  const security: { ssl?: ConnectionOptions; sasl?: SASLOptions } = {};
  if (tls) {
    security.ssl = {
      rejectUnauthorized: true,
      ...(config.kafkaCaFile === undefined ? {} : { ca: [readOption('kafkaCaFile', config.kafkaCaFile, read)] }),
      ...(config.kafkaCertFile === undefined ? {} : { cert: readOption('kafkaCertFile', config.kafkaCertFile, read) }),
      ...(config.kafkaKeyFile === undefined ? {} : { key: readOption('kafkaKeyFile', config.kafkaKeyFile, read) }),
    };
  }
  if (usesSasl) {
    if (config.kafkaSaslUsername === undefined)
      throw new CliError(`${label('kafkaSaslMechanism')} needs a user: set ${label('kafkaSaslUsername')}`);
    security.sasl = {
      mechanism: config.kafkaSaslMechanism,
      username: config.kafkaSaslUsername,
      password: saslPassword(config, read),
    } as SASLOptions;
  }
  return security;
}

/** One line for the start-up log: how the client connects, without any secret. */
export function describeKafkaSecurity(security: KafkaClientSecurity): string {
  const tls =
    security.ssl === undefined
      ? 'plaintext'
      : `TLS${security.ssl.ca ? ' (private CA)' : ''}${security.ssl.cert ? ' with a client certificate' : ''}`;
  return security.sasl === undefined
    ? tls
    : `${tls}, SASL ${security.sasl.mechanism} as '${(security.sasl as { username?: string }).username ?? '?'}'`;
}
