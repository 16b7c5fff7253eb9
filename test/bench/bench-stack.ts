// The local Kafka + S3 stack for a run: brought up if needed (and stopped again at the end
// if this run started it), and the run's own topic, consumer groups and objects removed
// afterwards.
import { Agent } from 'node:http';
import kafkajs from 'kafkajs';
import { Client as MinioClient } from 'minio';
import { ensureStackUp, stackStatus, stopServer, type ServerName } from '../../infra/stack/index.ts';
import { stackConfig, type StackConfig } from '../helpers/stack.ts';
import { nowMs, seconds } from './clock.ts';
import { formatInt, info, ticker, warn } from './progress.ts';

const { Kafka, logLevel } = kafkajs;

export interface RunningStack {
  config: StackConfig;
  /** Servers this run started (stopped at the end). */
  startedHere: ServerName[];
}

export async function bringUpStack(): Promise<RunningStack> {
  const before = await stackStatus();
  const missing = Object.values(before.servers)
    .filter((s) => !s.healthy)
    .map((s) => s.name);
  if (missing.length === 0) {
    info('the local stack is running; it stays up afterwards');
  } else {
    const started = nowMs();
    info(`bringing up the local stack (${missing.join(', ')}); stopped again at the end`);
    await ensureStackUp();
    info(`stack up in ${seconds(nowMs() - started, 1)}`);
  }
  const config = stackConfig();
  info(`kafka ${config.brokers.join(',')}, s3 ${config.s3Endpoint} bucket ${config.bucket}`);
  return { config, startedHere: missing };
}

export async function stopStartedServers(stack: RunningStack): Promise<void> {
  for (const name of stack.startedHere) {
    try {
      await stopServer(name);
      info(`stopped ${name} (started by this run)`);
    } catch (error) {
      warn(`stopping ${name} failed: ${(error as Error).message}`);
    }
  }
}

/** Deletes the run's topics (events + dead letters) and consumer groups, by name prefix. */
export async function deleteKafkaState(stack: RunningStack, runId: string): Promise<void> {
  const admin = new Kafka({
    clientId: `${runId}-cleanup`,
    brokers: stack.config.brokers,
    logLevel: logLevel.NOTHING,
  }).admin();
  try {
    await admin.connect();
    const topics = (await admin.listTopics()).filter((t) => t.startsWith(runId));
    if (topics.length > 0) await admin.deleteTopics({ topics, timeout: 30_000 });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.includes(runId));
    if (groups.length > 0) await admin.deleteGroups(groups).catch(() => undefined);
    info(`deleted topic(s) ${topics.join(', ') || '(none)'} and ${groups.length} consumer group(s)`);
  } catch (error) {
    warn(`Kafka cleanup failed: ${(error as Error).message}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/** Deletes every object under the run's key prefix. */
export async function deleteObjects(stack: RunningStack, prefix: string): Promise<void> {
  const agent = new Agent({ keepAlive: true });
  const client = new MinioClient({ ...stack.config.s3, transportAgent: agent });
  const started = nowMs();
  let removed = 0;
  const tick = ticker(() => `deleting the run's objects: ${formatInt(removed)} so far`);
  try {
    // Pages of 1,000 keys are listed one after the other; up to 4 batch deletes run at once.
    const inFlight = new Set<Promise<void>>();
    // Boxed: whatever a batch rejected with is rethrown as it is.
    let failure: { error: unknown } | undefined;
    let token = '';
    do {
      const page = await client.listObjectsV2Query(stack.config.bucket, prefix, token, '', 1000, '');
      const names = page.objects.map((o) => o.name).filter((n): n is string => n !== undefined);
      if (names.length > 0) {
        const batch: Promise<void> = client
          .removeObjects(stack.config.bucket, names)
          .then(
            () => {
              removed += names.length;
            },
            (error: unknown) => {
              failure ??= { error };
            },
          )
          .finally(() => inFlight.delete(batch));
        inFlight.add(batch);
        if (inFlight.size >= 4) await Promise.race(inFlight);
      }
      token = failure === undefined && page.isTruncated ? page.nextContinuationToken : '';
    } while (token !== '');
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure.error;
    info(
      `deleted ${formatInt(removed)} object(s) under ${stack.config.bucket}/${prefix} ` +
        `in ${seconds(nowMs() - started, 1)}`,
    );
  } catch (error) {
    warn(`S3 cleanup of ${prefix} failed after ${formatInt(removed)} objects: ${(error as Error).message}`);
  } finally {
    tick.stop();
    agent.destroy();
  }
}
