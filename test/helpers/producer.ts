// Runs a real producer in-process against the local stack, on a fresh topic, bucket
// prefix and state directory, stopped after the test.
import { defer } from './cleanup.ts';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { producerConfigSchema, type ProducerConfig } from '../../schemas/config.ts';
import { createLogger } from '../../services/shared/logger.ts';
import { startProducer, type ProducerHandle } from '../../services/producer/producer.ts';
import { freshPrefix, stackServiceConfig } from './stack.ts';

export function tempDir(t: TestContext, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mirrorlog-${prefix}-`));
  defer(t, () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export type TestProducerOptions = { root: string; topic: string; stateDir?: string; s3Prefix?: string } & Partial<
  Record<keyof ProducerConfig, unknown>
>;

export function producerConfig(t: TestContext, options: TestProducerOptions): ProducerConfig {
  return producerConfigSchema.parse({
    ...stackServiceConfig(),
    s3Prefix: freshPrefix(),
    stateDir: tempDir(t, 'producer-state'),
    partitions: 3,
    source: 'test-source',
    ...options,
  });
}

export async function startTestProducer(
  t: TestContext,
  options: TestProducerOptions,
): Promise<{ producer: ProducerHandle; config: ProducerConfig }> {
  const config = producerConfig(t, options);
  const producer = await startProducer(config, { logger: createLogger({ level: config.logLevel, name: 'producer' }) });
  defer(t, () => producer.stop());
  await producer.ready;
  return { producer, config };
}
