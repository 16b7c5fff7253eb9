// The producer's index at start-up: opened from the state directory, and completed from
// the topic when it was lost.
import type { Kafka } from 'kafkajs';
import type { ProducerConfig } from '../../schemas/config.ts';
import { META_KEY } from '../../schemas/names.ts';
import { CliError } from '../shared/errors.ts';
import type { Logger } from '../shared/logger.ts';
import { waitForServer, type WaitOptions } from '../shared/start-errors.ts';
import { SqliteSourceIndex } from './adapters/sqlite-source-index.ts';
import { rebuildIndexFromTopic } from './index-rebuild.ts';

export function openIndex(file: string): SqliteSourceIndex {
  try {
    return new SqliteSourceIndex(file);
  } catch (error) {
    throw new CliError(
      `the index ${file} cannot be opened (${(error as Error).message}): ` +
        'set --state-dir (MIRRORLOG_STATE_DIR) to a writable directory',
      2,
    );
  }
}

/** The lost-index case: the compacted topic holds the latest record of every path this source published. */
export async function completeIndex(
  kafka: Kafka,
  config: ProducerConfig,
  context: { readonly index: SqliteSourceIndex; readonly source: string; readonly logger: Logger },
  connected: Promise<void>,
  waitFor: (what: string) => WaitOptions,
): Promise<number> {
  const { index, source, logger } = context;
  let lastSeq = Number(index.getMeta(META_KEY.lastSeq) ?? 0);
  if (index.getMeta(META_KEY.complete) === 'true') return lastSeq;
  await connected;
  // Replaying from the start is idempotent: a leader still moving after creation is waited out.
  const rebuilt = await waitForServer(
    () => rebuildIndexFromTopic(kafka, config.topic, source, index, logger),
    waitFor(`reading the topic ${config.topic}`),
  );
  if (rebuilt.otherSources.length > 0) {
    // One topic per mirrored tree: a replica of this topic would mix both trees.
    const others = rebuilt.otherSources.map((s) => `'${s}'`).join(', ');
    throw new CliError(
      `topic '${config.topic}' already holds the tree of source ${others}; each mirrored tree needs its own topic ` +
        '(--topic), or pass that --source if this is the same tree',
    );
  }
  lastSeq = Math.max(lastSeq, rebuilt.maxSeq);
  index.apply([], { [META_KEY.lastSeq]: String(lastSeq), [META_KEY.complete]: 'true' });
  return lastSeq;
}
