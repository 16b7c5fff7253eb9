// What the one-shot commands (gc, restore, verify) open first: a logger that keeps the
// services' info lines off the operator's terminal (the command prints its own progress)
// and a Kafka client that gives up after a few retries instead of waiting forever.
import type { Admin, Kafka } from 'kafkajs';
import type { CommonConfig } from '../../schemas/config.ts';
import { CliError } from '../shared/errors.ts';
import { createKafka } from '../shared/kafka.ts';
import { kafkaClientSecurity, type KafkaSecurityConfig } from '../shared/kafka-security.ts';
import { createLogger, type Logger } from '../shared/logger.ts';

export function commandClients(
  config: Pick<CommonConfig, 'brokers' | 'logLevel'> & KafkaSecurityConfig,
  command: 'gc' | 'restore' | 'verify',
): { logger: Logger; kafka: Kafka } {
  const logger = createLogger({ level: config.logLevel === 'info' ? 'warn' : config.logLevel, name: command });
  const kafka = createKafka({
    brokers: config.brokers,
    clientId: `mirrorlog-${command}`,
    logger,
    security: kafkaClientSecurity(config),
    retry: { retries: 5 },
  });
  return { logger, kafka };
}

/** A missing topic cannot heal by itself (a typo, or no producer yet): final, exit 2. */
export async function requireTopic(admin: Admin, topic: string): Promise<void> {
  if (!(await admin.listTopics()).includes(topic)) throw new CliError(`topic '${topic}' does not exist`, 2);
}
