// Publishes encoded records with kafkajs' idempotent producer: acks from all in-sync
// replicas, one request in flight (kafkajs' idempotence assumes it), our directory
// partitioner. Large batches are gzip-compressed when that shrinks them enough (see
// domain/compression.ts); small ones go out as they are, for latency.
import kafkajs, { type Kafka, type Producer } from 'kafkajs';
import type { EncodedRecord } from '../../../schemas/codec.ts';
import { directoryPartitioner } from '../../../schemas/partitioner.ts';
import { worthCompressing } from '../domain/compression.ts';

const { CompressionTypes } = kafkajs;
const COMPRESS_FROM_RECORDS = 200;

export class KafkaPublisher {
  private readonly producer: Producer;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
  ) {
    this.producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      createPartitioner: directoryPartitioner,
    });
  }

  connect(): Promise<void> {
    return this.producer.connect();
  }

  async send(records: readonly EncodedRecord[]): Promise<void> {
    if (records.length === 0) return;
    const compress = records.length >= COMPRESS_FROM_RECORDS && worthCompressing(records.map((record) => record.value));
    await this.producer.send({
      topic: this.topic,
      acks: -1,
      compression: compress ? CompressionTypes.GZIP : CompressionTypes.None,
      messages: records.map((record) => ({ key: record.key, value: record.value, headers: record.headers })),
    });
  }

  disconnect(): Promise<void> {
    return this.producer.disconnect();
  }
}
