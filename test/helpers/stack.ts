// Helpers for tests against the real local stack (scripts/run-tests.mjs brings it up
// for the integration and e2e tiers). Every client factory takes the test context and
// closes what it made (through `defer`: last made, first closed); names are fresh per test so tests never share state.
import { createTopic as createKafkaTopic } from '../../services/shared/topic-admin.ts';
import { defer } from './cleanup.ts';
import { waitFor } from './wait.ts';
export { waitFor };
import { randomUUID } from 'node:crypto';
import { Agent } from 'node:http';
import type { TestContext } from 'node:test';
import {
  Kafka,
  logLevel,
  type Admin,
  type Consumer,
  type ConsumerConfig,
  type ITopicConfig,
  type Producer,
  type ProducerConfig,
} from 'kafkajs';
import { Client as MinioClient } from 'minio';
import type { S3ContentStoreOptions } from '../../services/shared/s3-content-store.ts';
import { treeMetadataTopic } from '../../services/shared/tree-metadata.ts';
import { resolveStackOptions, type StackOverrides } from '../../infra/stack/index.ts';

export interface StackConfig {
  brokers: string[];
  s3Endpoint: string;
  s3: {
    endPoint: string;
    port: number;
    useSSL: boolean;
    accessKey: string;
    secretKey: string;
    region: string;
    pathStyle: true;
  };
  bucket: string;
}

/**
 * Endpoints and credentials of the local stack (ports follow MIRRORLOG_STACK_*_PORT), or
 * of a private instance given its overrides (test/helpers/private-stack.ts).
 */
export function stackConfig(overrides: StackOverrides = {}): StackConfig {
  const o = resolveStackOptions(overrides);
  return {
    brokers: [`127.0.0.1:${o.kafkaPort}`],
    s3Endpoint: `${o.s3CertsDir === undefined ? 'http' : 'https'}://127.0.0.1:${o.s3Port}`,
    s3: {
      endPoint: '127.0.0.1',
      port: o.s3Port,
      useSSL: o.s3CertsDir !== undefined,
      accessKey: o.s3AccessKey,
      secretKey: o.s3SecretKey,
      region: o.region,
      pathStyle: true,
    },
    bucket: o.bucket,
  };
}

/** A topic name no other test uses; deleted after the test if it was created. */
export function freshTopic(t: TestContext, brokers: string[] = stackConfig().brokers): string {
  const topic = `test-${randomUUID()}`;
  defer(t, async () => {
    const admin = kafka('cleanup', brokers).admin();
    try {
      await admin.connect();
      // With the topics named after it: the tree's metadata (tree-metadata.ts), the heal
      // topic, the replicas' dead-letter topics.
      const existing = await admin.listTopics();
      const ours = existing.filter(
        (name) => name === topic || name === treeMetadataTopic(topic) || name.startsWith(`${topic}.`),
      );
      if (ours.length > 0) await admin.deleteTopics({ topics: ours, timeout: 10_000 });
    } catch {
      // best effort: a stopped broker (fault tests) must not fail the test here
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  });
  return topic;
}

/** An object key prefix (`test-<uuid>/`) no other test uses, in the stack's bucket. */
export function freshPrefix(): string {
  return `test-${randomUUID()}/`;
}

/** Options of an S3ContentStore on the stack's bucket, under a fresh prefix unless given. */
export function stackStoreOptions(overrides: Partial<S3ContentStoreOptions> = {}): S3ContentStoreOptions {
  const stack = stackConfig();
  return {
    endpoint: stack.s3Endpoint,
    accessKey: stack.s3.accessKey,
    secretKey: stack.s3.secretKey,
    region: stack.s3.region,
    bucket: stack.bucket,
    prefix: freshPrefix(),
    ...overrides,
  };
}

/** What the config of a service run in-process takes from the stack: endpoints and keys, no fixed port, warnings. */
export function stackServiceConfig(stack: StackConfig = stackConfig()) {
  return {
    brokers: stack.brokers,
    s3Endpoint: stack.s3Endpoint,
    s3AccessKey: stack.s3.accessKey,
    s3SecretKey: stack.s3.secretKey,
    bucket: stack.bucket,
    metricsPort: 0,
    logLevel: 'warn',
  };
}

/** A consumer group id no other test uses. */
export function freshGroup(): string {
  return `test-group-${randomUUID()}`;
}

export function kafka(clientId: string, brokers: string[] = stackConfig().brokers): Kafka {
  return new Kafka({ clientId, brokers, logLevel: logLevel.NOTHING });
}

/** A connected kafkajs admin client, disconnected after the test. */
export async function kafkaAdmin(t: TestContext): Promise<Admin> {
  const admin = kafka(`test-admin-${randomUUID().slice(0, 8)}`).admin();
  defer(t, () => admin.disconnect());
  await admin.connect();
  return admin;
}

/** Creates a fresh topic (deleted after the test) and returns its name. */
export async function createTopic(t: TestContext, config: Omit<ITopicConfig, 'topic'> = {}): Promise<string> {
  const topic = freshTopic(t);
  const admin = await kafkaAdmin(t);
  await createKafkaTopic(admin, { numPartitions: 1, replicationFactor: 1, ...config, topic });
  return topic;
}

/** A connected kafkajs producer, disconnected after the test. */
export async function kafkaProducer(t: TestContext, config: ProducerConfig = {}): Promise<Producer> {
  const producer = kafka(`test-producer-${randomUUID().slice(0, 8)}`).producer(config);
  defer(t, () => producer.disconnect());
  await producer.connect();
  return producer;
}

/** A connected kafkajs consumer (fresh group unless given), disconnected after the test. */
export async function kafkaConsumer(t: TestContext, config: Partial<ConsumerConfig> = {}): Promise<Consumer> {
  const consumer = kafka(`test-consumer-${randomUUID().slice(0, 8)}`).consumer({ groupId: freshGroup(), ...config });
  defer(t, () => consumer.disconnect());
  await consumer.connect();
  return consumer;
}

/**
 * Subscribes to a topic another process just created: the broker may answer
 * UNKNOWN_TOPIC_OR_PARTITION for a moment after the creation (kafkajs does not retry it
 * while subscribing), so that answer is waited out, for at most 30 s.
 */
export async function subscribeWhenKnown(consumer: Consumer, topic: string): Promise<void> {
  await waitFor(`topic ${topic} to be known to the broker`, async () => {
    try {
      await consumer.subscribe({ topics: [topic], fromBeginning: true });
      return true;
    } catch (error) {
      if ((error as { type?: unknown }).type === 'UNKNOWN_TOPIC_OR_PARTITION') return undefined;
      throw error;
    }
  });
}

/** A minio client for the stack's S3, its sockets closed after the test. */
export function minioClient(t: TestContext, stack: StackConfig = stackConfig()): MinioClient {
  const agent = new Agent({ keepAlive: true });
  defer(t, () => agent.destroy());
  return new MinioClient({ ...stack.s3, transportAgent: agent });
}

/** Reads a whole object stream. */
export async function readAll(stream: AsyncIterable<Buffer | string>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks);
}
