// The Kafka module on a worker thread, for publisher-rate.ts: sends the batches it is
// posted one after the other, in the order posted, and answers each once acknowledged.
import { parentPort, workerData } from 'node:worker_threads';
import { Kafka, logLevel } from 'kafkajs';
import type { EncodedRecord } from '../../schemas/codec.ts';
import { KafkaPublisher } from '../../services/producer/adapters/kafka-publisher.ts';

export type PublisherWorkerInput = { brokers: string[]; topic: string; partitions: number };

const input = workerData as PublisherWorkerInput;
const port = parentPort!;
const kafka = new Kafka({ clientId: 'bench-worker', brokers: input.brokers, logLevel: logLevel.NOTHING });
const publisher = new KafkaPublisher(kafka, input.topic, input.partitions);
await publisher.connect();
let chain = Promise.resolve();
port.on('message', (records: EncodedRecord[] | 'stop') => {
  chain = chain.then(async () => {
    if (records === 'stop') {
      await publisher.disconnect();
      port.close();
      return;
    }
    await publisher.send(records);
    port.postMessage('sent');
  });
});
port.postMessage('ready');
