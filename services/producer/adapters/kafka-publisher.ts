// Publishes encoded records with kafkajs' idempotent producer: acks from all in-sync
// replicas, one request in flight (kafkajs' idempotence assumes it), our directory
// partitioner. Large batches are gzip-compressed when that shrinks them enough (see
// domain/compression.ts); small ones go out as they are, for latency.
//
// One send per partition: kafkajs 2.2.4 keeps a multi-partition send's responses per
// broker, and when a leader dies mid-send it retries only brokers without a response, so
// partitions that moved to a broker which already answered are never sent, and the send
// still resolves. The failover e2e lost 110 acknowledged records that way (a broker
// killed during a burst); a send of one partition cannot be split across brokers.
import kafkajs, { type Kafka, type Producer } from 'kafkajs';
import type { EncodedRecord } from '../../../schemas/codec.ts';
import { directoryPartitioner, partitionOf } from '../../../schemas/partitioner.ts';
import { worthCompressing } from '../domain/compression.ts';

const { CompressionTypes } = kafkajs;
const COMPRESS_FROM_RECORDS = 200;

export class KafkaPublisher {
  private readonly producer: Producer;

  constructor(
    kafka: Kafka,
    private readonly topic: string,
    /** The topic's partition count (config.partitions; ensureTopic has checked it). */
    private readonly partitions: number,
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
    // One after the other, as one send was before: concurrent sends would each run kafkajs'
    // reconnect path at once while the brokers are away.
    for (const group of byPartition(records, this.partitions).values()) await this.sendOnePartition(group);
  }

  private async sendOnePartition(records: readonly EncodedRecord[]): Promise<void> {
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

/** Records grouped by the partition the directory partitioner gives them, order kept. */
export function byPartition(records: readonly EncodedRecord[], partitions: number): Map<number, EncodedRecord[]> {
  const groups = new Map<number, EncodedRecord[]>();
  for (const record of records) {
    const partition = partitionOf(record.key, partitions);
    const group = groups.get(partition);
    if (group === undefined) groups.set(partition, [record]);
    else group.push(record);
  }
  return groups;
}
