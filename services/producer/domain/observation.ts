// What the examiner found at a path, ready to be diffed against the index and published.
import type { EntryState } from '../../../schemas/event.ts';
import type { RelPath } from '../../../schemas/rel-path.ts';
import type { Fingerprint } from './diff.ts';

/**
 * `observed` undefined: nothing mirrorable is there (any more). `fingerprint`: the stat it
 * was read with (files) or the directory's identity. `data`: the bytes of a small file,
 * published inline (never uploaded).
 */
export type Observation = {
  path: RelPath;
  observed: EntryState | undefined;
  fingerprint: Fingerprint | undefined;
  firstHintAt: number;
  data?: Buffer;
};
