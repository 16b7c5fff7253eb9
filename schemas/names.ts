// Every name that crosses a process boundary, in one place: consumer groups, topics
// derived from the events topic, record headers of the dead-letter topic, what an offset
// commit carries, and the keys of the services' meta tables. A literal of one of these
// anywhere else is a bug waiting for a rename.

/** Meta keys of the producer's index (services/producer/ports/source-index.ts). */
export const META_KEY = {
  /** The last seq issued (decimal): the hybrid clock never goes below it after a restart. */
  lastSeq: 'lastSeq',
  /** 'true' once the index is complete (built by this producer, or rebuilt from the topic). */
  complete: 'complete',
  /** The topic, source and root the index describes (a state directory serves one of each). */
  topic: 'topic',
  source: 'source',
  root: 'root',
} as const;

/** Prefixes of the throw-away consumer groups of tools that read a topic once (a random suffix follows). */
export const GROUP_PREFIX = {
  producerIndexRebuild: 'mirrorlog.producer-index-rebuild',
  reader: 'mirrorlog.reader',
  gc: 'mirrorlog.gc',
} as const;
