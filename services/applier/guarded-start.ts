// The applier's guarded start-up, in the order that keeps a replica safe: Kafka and S3
// checked (waited for with one line per backoff step; what cannot heal is one line, exit
// 2), the events topic checked and never created, the group checked for another applier
// (replica-guard.ts), a legacy group's offsets adopted (group-migration.ts), the target
// checked against the tree's source (replica-registration.ts), then the log's bounds read.
// Nothing here writes to the replica, and a refused start leaves no trace in the source.
import { rmdirSync } from 'node:fs';
import type { Admin, Kafka } from 'kafkajs';
import type { ApplierConfig } from '../../schemas/config.ts';
import { replicaGroupId } from '../../schemas/names.ts';
import type { ContentStore } from '../shared/content-store.ts';
import { GuardedContentStore } from '../shared/guarded-content-store.ts';
import { createKafka, describeTopicConfig, fetchTopicOffsets } from '../shared/kafka.ts';
import { kafkaClientSecurity } from '../shared/kafka-security.ts';
import type { Logger } from '../shared/logger.ts';
import { S3ContentStore, s3OptionsFromConfig } from '../shared/s3-content-store.ts';
import { waitForServer } from '../shared/start-errors.ts';
import { replicationFor } from '../shared/topic-replication.ts';
import { adoptLegacyGroup } from './group-migration.ts';
import { ensureSoleApplier } from './replica-guard.ts';
import { registerApplier } from './replica-registration.ts';
import { checkKafka, checkStore } from './start-checks.ts';

export type GuardedStartContext = {
  dirs: { target: string; stateDir: string };
  /** Whether the target existed before this start (a refused start removes an empty one it made). */
  targetExisted: boolean;
  /** A content store given by the caller (tests); else S3 from the configuration. */
  store: ContentStore | undefined;
  sessionTimeoutMs: number;
  logger: Logger;
  /** Says why the start waits (for /readyz); undefined once the server answered. */
  setReason: (reason: string | undefined) => void;
  /** Aborts the store's retries when the applier stops. */
  signal: AbortSignal;
  /** Takes what must be released when the applier stops or its start fails. */
  cleanups: (() => unknown)[];
};

export type CheckedServers = {
  kafka: Kafka;
  admin: Admin;
  store: GuardedContentStore;
  groupId: string;
  replication: Awaited<ReturnType<typeof replicationFor>>;
  eventsMaxMessageBytes: number;
  /** The log's first and next offsets per partition, read once the replica is known safe to write. */
  earliest: Map<number, number>;
  latest: Map<number, number>;
};

export async function checkServersAndReplica(
  config: ApplierConfig,
  context: GuardedStartContext,
): Promise<CheckedServers> {
  const { dirs, logger, cleanups } = context;
  const where = { kafka: config.brokers.join(','), s3: config.s3Endpoint };
  const waitingFor = (what: string) => ({
    what,
    where,
    logger,
    giveUpAfterMs: config.giveUpAfter,
    setReason: context.setReason,
  });
  const kafka = createKafka({
    brokers: config.brokers,
    clientId: `mirrorlog-applier-${config.replica}`,
    logger,
    security: kafkaClientSecurity(config),
  });
  // An applier never creates the events topic: a mistyped --topic must not start an empty log.
  const drift = await waitForServer(() => checkKafka(config, logger), waitingFor(`Kafka at ${where.kafka}`));
  if (drift.length > 0)
    logger.warn({ topic: config.topic, drift }, 'topic settings differ from what mirrorlog would create');
  const innerStore = context.store ?? new S3ContentStore({ ...s3OptionsFromConfig(config), logger });
  if (innerStore instanceof S3ContentStore) cleanups.push(() => innerStore.close());
  await waitForServer(
    () => checkStore(config, context.store),
    waitingFor(`S3 at ${where.s3} (bucket ${config.bucket})`),
  );
  const store = new GuardedContentStore(innerStore, { logger, signal: context.signal });
  const admin = kafka.admin();
  await admin.connect();
  cleanups.push(() => admin.disconnect());
  const replication = await replicationFor(admin, config);
  const eventsMaxMessageBytes = Number(
    (await describeTopicConfig(admin, config.topic, ['max.message.bytes'])).get('max.message.bytes') ?? 0,
  );
  // One applier per replica: refuse before anything could move the group's offsets.
  const groupId = replicaGroupId(config.topic, config.replica);
  await ensureSoleApplier(admin, {
    group: groupId,
    replica: config.replica,
    sessionTimeoutMs: context.sessionTimeoutMs,
    logger,
  });
  // Groups were named without the topic before: the old group's offsets carry over once.
  await adoptLegacyGroup(admin, config.topic, config.replica, logger);
  // Never a replica of its own source: refused before anything is written.
  await registerApplier(kafka, admin, {
    topic: config.topic,
    replica: config.replica,
    target: dirs.target,
    stateDir: dirs.stateDir,
  }).catch((error: unknown) => {
    // Refused: leave no trace in the source, not even the empty target this start made.
    if (!context.targetExisted) {
      try {
        rmdirSync(dirs.target);
      } catch {
        // not empty after all: left as it is
      }
    }
    throw error;
  });
  const offsets = await fetchTopicOffsets(admin, config.topic);
  return {
    kafka,
    admin,
    store,
    groupId,
    replication,
    eventsMaxMessageBytes,
    earliest: new Map(offsets.map((o) => [o.partition, o.low])),
    latest: new Map(offsets.map((o) => [o.partition, o.high])),
  };
}
