// Connecting the producer to its servers, each step waited for (and retried) until it
// works: Kafka, the topic and the producer's registration on it, the S3 bucket and the
// tree's registration there, then the publisher.
import os from 'node:os';
import type { Admin, Kafka } from 'kafkajs';
import type { ProducerConfig } from '../../schemas/config.ts';
import type { ContentStore } from '../shared/content-store.ts';
import { ensureTopic, probeKafka } from '../shared/kafka.ts';
import { kafkaClientSecurity } from '../shared/kafka-security.ts';
import type { Logger } from '../shared/logger.ts';
import { S3ContentStore } from '../shared/s3-content-store.ts';
import { waitForServer, type WaitOptions } from '../shared/start-errors.ts';
import { replicationFor } from '../shared/topic-replication.ts';
import { isDocumentStore, registerTree } from '../shared/tree-registry.ts';
import type { KafkaPublisher } from './adapters/kafka-publisher.ts';
import { registerProducer } from './tree-registration.ts';
import { withinMs } from '../shared/deadline.ts';

export type ProducerConnections = {
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly store: ContentStore;
  readonly publisher: KafkaPublisher;
  readonly source: string;
  readonly root: string;
  readonly stateDir: string;
  readonly logger: Logger;
  readonly waitFor: (what: string) => WaitOptions;
};

/** How long the topic step (create or check, register) may take before it is tried again. */
const TOPIC_STEP_WITHIN_MS = 60_000;

export async function connectProducer(config: ProducerConfig, connections: ProducerConnections): Promise<void> {
  const { kafka, admin, store, publisher, source, root, stateDir, logger, waitFor } = connections;
  await waitForServer(
    () => probeKafka(config.brokers, logger, kafkaClientSecurity(config)),
    waitFor(`Kafka at ${config.brokers.join(',')}`),
  );
  await waitForServer(
    // Bounded: right after a topic's creation on a cluster, a kafkajs admin call was seen to
    // hang for good, and the producer never got ready. A step past its bound is tried again.
    () =>
      withinMs(
        (async () => {
          await admin.connect();
          const replication = await replicationFor(admin, config);
          await ensureTopic(admin, {
            topic: config.topic,
            partitions: config.partitions,
            historyWindowMs: config.historyWindow,
            ...replication,
          });
          await registerProducer(kafka, admin, { topic: config.topic, source, root, stateDir });
        })(),
        TOPIC_STEP_WITHIN_MS,
      ),
    waitFor(`the topic ${config.topic}`),
  );
  await waitForServer(
    async () => {
      if (store instanceof S3ContentStore) await store.ensureBucket({ retries: 0 });
      // gc of any tree sharing this prefix reads this topic before deleting (tree-registry.ts).
      if (isDocumentStore(store)) {
        await registerTree(store, { v: 1, topic: config.topic, source, host: os.hostname(), root, at: Date.now() });
      }
    },
    waitFor(`S3 at ${config.s3Endpoint}`),
  );
  await publisher.connect();
}
