// Writes records the applier cannot apply to the replica's dead-letter topic
// (`<topic>.dlq.<replica>`): the original key, value and headers, plus headers saying
// what was wrong and where the record came from, so it can be inspected and replayed.
// A send is retried until Kafka takes it; the lane does not commit past a dead letter
// that is not yet acknowledged.
import kafkajs from 'kafkajs';
import type { IHeaders, Kafka, Producer } from 'kafkajs';
import type { RawRecord } from '../../../schemas/codec.ts';
import type { Logger } from '../../shared/logger.ts';
import { backoffDelay, sleep } from '../../shared/retry.ts';

import { DEAD_LETTER_HEADERS, type DeadLetterCode } from '../../../schemas/names.ts';

export { DEAD_LETTER_HEADERS } from '../../../schemas/names.ts';

/** The broker refused the record for its size (kafkajs may wrap the protocol error). */
function isTooLarge(error: unknown): boolean {
  for (
    let current = error as { type?: unknown; cause?: unknown; originalError?: unknown } | null | undefined, depth = 0;
    current && depth < 4;
    depth++
  ) {
    if (current.type === 'MESSAGE_TOO_LARGE' || current.type === 'RECORD_LIST_TOO_LARGE') return true;
    current = (current.originalError ?? current.cause) as typeof current;
  }
  return false;
}

export type DeadLetter = {
  readonly partition: number;
  readonly offset: number;
  readonly raw: RawRecord;
  readonly code: DeadLetterCode;
  readonly field: string;
  readonly message: string;
};

const MAX_MESSAGE_CHARS = 2000;

export class DeadLetterProducer {
  private readonly producer: Producer;
  private closed = false;

  constructor(
    kafka: Kafka,
    readonly topic: string,
    private readonly sourceTopic: string,
    private readonly replica: string,
    private readonly logger: Logger,
  ) {
    // Every dead letter names partition 0: the partitioner is never consulted.
    this.producer = kafka.producer({
      allowAutoTopicCreation: false,
      createPartitioner: kafkajs.Partitioners.DefaultPartitioner,
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  /** Resolves once Kafka acknowledged the dead letter; rejects only when closed first. */
  async send(letter: DeadLetter): Promise<void> {
    const headers: IHeaders = {
      ...(letter.raw.headers ?? {}),
      [DEAD_LETTER_HEADERS.code]: letter.code,
      [DEAD_LETTER_HEADERS.field]: letter.field,
      [DEAD_LETTER_HEADERS.message]: letter.message.slice(0, MAX_MESSAGE_CHARS),
      [DEAD_LETTER_HEADERS.sourceTopic]: this.sourceTopic,
      [DEAD_LETTER_HEADERS.sourcePartition]: String(letter.partition),
      [DEAD_LETTER_HEADERS.sourceOffset]: String(letter.offset),
      [DEAD_LETTER_HEADERS.replica]: this.replica,
    };
    let message = { key: letter.raw.key, value: letter.raw.value, headers, partition: 0 };
    for (let attempt = 1; ; attempt++) {
      if (this.closed) throw new Error('dead-letter producer closed');
      try {
        await this.producer.send({ topic: this.topic, acks: -1, messages: [message] });
        return;
      } catch (error) {
        if (this.closed) throw error;
        if (isTooLarge(error) && message.value !== null) {
          // Refused for its size (a topic made before its limit followed the events topic's?):
          // the dead letter goes without the value, so nothing pins the partition.
          const bytes = Buffer.byteLength(message.value);
          this.logger.warn(
            { topic: this.topic, bytes },
            'a dead letter is too large for its topic; writing it without its value',
          );
          message = {
            ...message,
            value: null,
            headers: { ...headers, [DEAD_LETTER_HEADERS.valueOmitted]: String(bytes) },
          };
          continue;
        }
        const delayMs = backoffDelay(attempt, { minDelayMs: 500, maxDelayMs: 30_000 });
        this.logger.warn(
          { err: error, topic: this.topic, retry: attempt, delayMs },
          'cannot write a dead letter; retrying',
        );
        await sleep(delayMs);
      }
    }
  }

  async disconnect(): Promise<void> {
    this.closed = true;
    await this.producer.disconnect();
  }
}
