// Turning observations into events, as a function of data: each observation is diffed
// against the index as it stands after the observations before it (an overlay on the
// index), every change gets the next seq, and the index writes that record them come back
// with the events. The shell sends the events and applies the writes once the broker
// acknowledged them; nothing here does I/O or reads the clock (the seq clock is given).
//
// The rules, each visible below:
// 1. Every indexed entry's parent is indexed as a directory (or a reconcile could never
//    reach the entry again): a missing ancestor is published first, and examined later.
//    An ancestor that is not a directory any more makes the observation stale: dropped
//    (the ancestor's own examination publishes what happened).
// 2. A path that vanished or stopped being a directory first deletes what the index holds
//    below it, deepest first (diffPath), so those deletes get lower seqs.
// 3. A rename is a delete of the old path and a new path with the same hash: the content
//    is not uploaded again (the uploader knows the hash), and no event needs more.
// 4. Same state, new stat (touched back, or an index rebuilt from the topic): no event, but
//    the fingerprint is recorded so the next reconcile does not read the file again.
import { type EntryState, type MirrorEvent } from '../../../schemas/event.ts';
import { attributesIn } from '../../../schemas/entry-attributes.ts';
import { ancestorsOf, isBelow, type RelPath } from '../../../schemas/rel-path.ts';
import type { IndexedEntry, IndexWrite, SourceIndexView } from '../ports/source-index.ts';
import { diffPath, type Change } from './diff.ts';
import type { Observation } from './observation.ts';
import type { SeqClock } from './seq-clock.ts';

export type PlanContext = {
  source: string;
  index: SourceIndexView;
  clock: SeqClock;
  /** The mode of `path` if it is a directory now (asked only of ancestors the index does not hold as one). */
  dirModeNow: (path: RelPath) => number | undefined;
};

export type PlannedBatch = {
  events: MirrorEvent[];
  writes: IndexWrite[];
  /** Directories published as the parent of another entry: to be examined fully. */
  examine: RelPath[];
};

export function planBatch(batch: readonly Observation[], context: PlanContext): PlannedBatch {
  const overlay = new IndexOverlay(context.index);
  const planned: PlannedBatch = { events: [], writes: [], examine: [] };
  for (const observation of batch) planObservation(observation, { ...context, index: overlay }, planned, overlay);
  planned.writes = overlay.writes();
  return planned;
}

function planObservation(
  observation: Observation,
  context: PlanContext,
  out: PlannedBatch,
  overlay: IndexOverlay,
): void {
  const { index } = context;
  const events: MirrorEvent[] = [];
  if (observation.observed !== undefined) {
    for (const ancestor of ancestorsOf(observation.path) as RelPath[]) {
      const known = index.get(ancestor);
      if (known?.state.kind === 'dir') continue;
      const mode = context.dirModeNow(ancestor);
      if (mode === undefined) return; // rule 1: stale
      const changes = diffPath(ancestor, known?.state, { kind: 'dir', mode }, () => index.below(ancestor));
      events.push(...toEvents(changes, observation, undefined, context, overlay));
      out.examine.push(ancestor);
    }
  }
  const indexed = index.get(observation.path);
  const changes = diffPath(observation.path, indexed?.state, observation.observed, () => index.below(observation.path));
  events.push(...toEvents(changes, observation, observation.fingerprint, context, overlay));
  if (changes.length === 0 && indexed !== undefined && observation.observed !== undefined) {
    rememberFingerprint(indexed, observation, overlay); // rule 4
  }
  out.events.push(...events);
}

function rememberFingerprint(indexed: IndexedEntry, observation: Observation, overlay: IndexOverlay): void {
  const { fingerprint } = observation;
  if (fingerprint === undefined) return;
  const known = indexed.fingerprint;
  const same =
    known !== undefined &&
    known.ino === fingerprint.ino &&
    known.size === fingerprint.size &&
    known.mtimeMs === fingerprint.mtimeMs &&
    known.ctimeMs === fingerprint.ctimeMs;
  if (!same) overlay.put(observation.path, indexed.state, indexed.seq, fingerprint);
}

function toEvents(
  changes: Change[],
  observation: Observation,
  fingerprint: Observation['fingerprint'],
  context: PlanContext,
  overlay: IndexOverlay,
): MirrorEvent[] {
  return changes.map(({ path, next }) => {
    const seq = context.clock.next();
    const base = { source: context.source, seq, ts: observation.firstHintAt, path };
    if (next === null) {
      overlay.remove(path);
      return { ...base, op: 'delete' };
    }
    const own = path === observation.path;
    overlay.put(path, next, seq, own ? fingerprint : undefined);
    const event = eventOf(base, next);
    return own && event.op === 'file' && observation.data !== undefined ? { ...event, data: observation.data } : event;
  });
}

function timed(mtimeMs: number | undefined): { mtimeMs?: number } {
  return mtimeMs === undefined ? {} : { mtimeMs };
}

export function eventOf(
  base: { source: string; seq: number; ts: number; path: RelPath },
  state: EntryState,
): MirrorEvent {
  const owned = {
    ...base,
    ...(state.owner === undefined ? {} : { owner: state.owner }),
    ...(state.mtimeNs === undefined ? {} : { mtimeNs: state.mtimeNs }),
    ...attributesIn(state),
  };
  switch (state.kind) {
    case 'file':
      return {
        ...owned,
        op: 'file',
        size: state.size,
        mode: state.mode,
        mtimeMs: state.mtimeMs,
        hash: state.hash,
        ...(state.link === undefined ? {} : { link: state.link }),
      };
    case 'dir':
      return { ...owned, op: 'dir', mode: state.mode, ...timed(state.mtimeMs) };
    case 'symlink':
      return { ...owned, op: 'symlink', target: state.target, ...timed(state.mtimeMs) };
    default: {
      const unknown: never = state;
      throw new Error(`unknown entry kind ${JSON.stringify(unknown)}`);
    }
  }
}

/** The index as it stands after the writes planned so far in this batch. */
export class IndexOverlay implements SourceIndexView {
  private readonly changed = new Map<RelPath, IndexedEntry | null>();

  constructor(private readonly base: SourceIndexView) {}

  get(path: RelPath): IndexedEntry | undefined {
    const entry = this.changed.get(path);
    return entry === undefined ? this.base.get(path) : (entry ?? undefined);
  }

  below(dir: string): RelPath[] {
    const found = new Set(this.base.below(dir).filter((path) => this.changed.get(path) !== null));
    for (const [path, entry] of this.changed) if (entry !== null && (dir === '' || isBelow(path, dir))) found.add(path);
    return [...found];
  }

  put(path: RelPath, state: EntryState, seq: number, fingerprint: IndexedEntry['fingerprint']): void {
    this.changed.set(path, { path, state, seq, fingerprint });
  }

  remove(path: RelPath): void {
    this.changed.set(path, null);
  }

  writes(): IndexWrite[] {
    return [...this.changed].map(([path, entry]): IndexWrite =>
      entry === null ? { op: 'remove', path } : { op: 'put', ...entry },
    );
  }
}
