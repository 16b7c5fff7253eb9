// The applier service's real ports, made at start for the core (applier-core.ts): the
// replica's own files (temp files, journal, materializer, staging), the resume positions,
// and the Kafka ends of a record that cannot be applied (dead letters, heal requests).
import type { RefusedAttribute } from '../shared/attribute-io.ts';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { ApplierConfig } from '../../schemas/config.ts';
import { deadLetterTopic } from '../../schemas/content-key.ts';
import type { Logger } from '../shared/logger.ts';
import { DeadLetterProducer } from './adapters/dead-letter-producer.ts';
import { FsMaterializer } from './adapters/fs-materializer.ts';
import { HealChannel, type HealChannelOptions } from './adapters/heal-channel.ts';
import type { TargetRoot } from './adapters/target-root.ts';
import { TempJournal } from './adapters/temp-journal.ts';
import type { DeadLetterSink } from './applier-core.ts';
import { newRunToken } from './domain/temp-name.ts';
import type { CheckedServers } from './guarded-start.ts';
import type { ApplierMetrics } from './metrics.ts';
import type { LaneRecord } from './partition-queues.ts';
import { ownershipFromConfig } from './owner-setup.ts';
import { Positions } from './positions.ts';
import { TEMP_JOURNAL_FILE, removeLeftoverTemps } from './replica-state.ts';
import { deadLetterTopicOnDemand } from './start-checks.ts';

/** The replica's own files: temp files a crash left removed, the temp journal, the materializer, the staging area. */
export function prepareReplicaFiles(
  config: ApplierConfig,
  dirs: { target: string; stateDir: string },
  root: TargetRoot,
  metrics: ApplierMetrics,
  logger: Logger,
  cleanups: (() => unknown)[],
) {
  const token = newRunToken();
  const leftovers = removeLeftoverTemps(
    dirs.stateDir,
    new FsMaterializer({ root, journal: { noteDir: () => undefined }, token, fsyncFiles: false }),
  );
  if (leftovers > 0) logger.info({ removed: leftovers }, 'removed temp files left by an interrupted run');
  const journal = new TempJournal(join(dirs.stateDir, TEMP_JOURNAL_FILE), [token]);
  cleanups.push(() => journal.close());
  const fs = new FsMaterializer({
    root,
    journal,
    token,
    fsyncFiles: config.durability === 'fsync',
    allowSetid: config.allowSetid,
    onSetidStripped: () => metrics.setidStripped.inc(),
    onAttributesRefused: reportRefusedAttributes(metrics, logger),
    ownership: ownershipFromConfig(config, logger),
  });
  // Large content is staged in the state directory, which only the applier writes: never
  // in the replica, where anyone with write access could plant something at the next name.
  // Placing it is a rename when both share a filesystem, else a copy (atomic-write.ts).
  const stagingDir = join(dirs.stateDir, 'staging');
  rmSync(stagingDir, { recursive: true, force: true });
  mkdirSync(stagingDir, { mode: 0o700 });
  return { token, journal, fs, stagingPath: () => join(stagingDir, randomBytes(12).toString('hex')) };
}

/** Counts each refused attribute by namespace; warns once per namespace and reason, naming one entry. */
function reportRefusedAttributes(metrics: ApplierMetrics, logger: Logger) {
  const warned = new Set<string>();
  return (path: string, refused: readonly RefusedAttribute[]) => {
    for (const { name, code } of refused) {
      const namespace = name === '*' ? 'all' : name.slice(0, name.indexOf('.'));
      metrics.attributesRefused.inc({ namespace });
      if (warned.has(`${namespace} ${code}`)) continue;
      warned.add(`${namespace} ${code}`);
      logger.warn(
        { path, attribute: name, code },
        `the replica refuses ${namespace}.* attributes (${code}): entries are applied without them ` +
          '(trusted.* and security.* need root; the filesystem must support extended attributes)',
      );
    }
  };
}

/** Where each partition resumes: the stored position, else the log's start. */
export function startPositions(
  partitions: number,
  stored: ReadonlyMap<number, number>,
  earliest: ReadonlyMap<number, number>,
  latest: ReadonlyMap<number, number>,
): Positions {
  const positions = new Positions();
  for (let partition = 0; partition < partitions; partition++) {
    positions.init(partition, stored.get(partition) ?? earliest.get(partition) ?? 0);
    positions.highWatermark(partition, latest.get(partition) ?? 0);
  }
  return positions;
}

/** The Kafka ends of a record the applier cannot apply: the dead-letter topic, and heal requests. */
export async function deadLetterPorts(
  config: ApplierConfig,
  servers: CheckedServers,
  context: {
    logger: Logger;
    signal: AbortSignal;
    cleanups: (() => unknown)[];
    onHealed: (records: LaneRecord[]) => void;
    /** Where heal waits are kept across restarts (the replica's index). */
    waits: HealChannelOptions['waits'];
    onWaiting: (count: number) => void;
  },
): Promise<{ heal: HealChannel; deadLetters: DeadLetterSink }> {
  const { kafka, admin, store } = servers;
  const { logger, cleanups } = context;
  const heal = new HealChannel({
    kafka,
    topic: config.topic,
    replica: config.replica,
    store,
    waits: context.waits,
    logger,
    onHealed: context.onHealed,
    onWaiting: context.onWaiting,
  });
  cleanups.push(() => heal.close());
  const dlqTopic = deadLetterTopic(config.topic, config.replica);
  const producer = new DeadLetterProducer(kafka, dlqTopic, config.topic, config.replica, logger);
  await producer.connect();
  cleanups.push(() => producer.disconnect());
  // The dead-letter topic is made at the first dead letter, never at start.
  const ensureTopic = deadLetterTopicOnDemand(admin, dlqTopic, {
    logger,
    signal: context.signal,
    topicOptions: { eventsMaxMessageBytes: servers.eventsMaxMessageBytes, ...servers.replication },
  });
  return { heal, deadLetters: { send: (letter) => ensureTopic().then(() => producer.send(letter)) } };
}
