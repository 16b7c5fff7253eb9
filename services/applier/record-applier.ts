// Applies one record: decode result → decide → content → filesystem steps → index.
// Synchronous (the lane calls it in short time slices); it either finishes the record
// (applied, skipped or dead-lettered) or reports that the record waits for content.
//
// Index updates ('record', 'forget-below') run as SQL at once, in the lane's open
// transaction, so the next decision sees them; each follows the filesystem step it
// describes, so even a record that fails halfway leaves index and disk agreeing. The one
// exception is parallel apply (writes-in-flight.ts): a plain write of bytes in memory
// goes on on libuv's pool while its record is made, and is undone in the index if the
// write fails; a decision touching a path with a write in flight waits for it.
import type { MirrorEvent } from '../../schemas/event.ts';
import type { RelPath } from '../../schemas/rel-path.ts';
import { sha256Hex } from '../shared/content-store.ts';
import type { ReplicaIndex } from './adapters/applied-index.ts';
import type { ContentSupply } from './adapters/content-supply.ts';
import type { FsMaterializer } from './adapters/fs-materializer.ts';
import { LinkSourceError } from './adapters/hard-link.ts';
import { NotAFileError } from './adapters/in-place-meta.ts';
import type { Content } from './adapters/verified-content.ts';
import { UnsafePathError } from './adapters/target-root.ts';
import { decide } from './domain/decide.ts';
import type { AppliedEntry, ReplicaView, Step } from './domain/plan.ts';
import { seqTooFarAhead } from './domain/seq-bound.ts';
import type { ApplierMetrics } from './metrics.ts';
import type { LaneRecord } from './partition-queues.ts';
import type { WritesInFlight } from './writes-in-flight.ts';

/** Why a record went to the dead-letter topic: a RecordError code or one of these. */
import type { DeadLetterCode } from '../../schemas/names.ts';

export type { DeadLetterCode };
export type DeadLetterReason = { code: DeadLetterCode; field: string; message: string };

export interface RecordApplierDeps {
  readonly index: ReplicaIndex;
  readonly fs: FsMaterializer;
  readonly supply: ContentSupply;
  readonly metrics: ApplierMetrics;
  readonly deadLetter: (record: LaneRecord, reason: DeadLetterReason) => void;
  /** True while a rebuild replays: every record touches its path's epoch. */
  readonly rebuilding: () => boolean;
  /** The destination path itself when a file unknown to the index may already hold its content (adopting a replica). */
  readonly adoptPath: (path: string) => string | undefined;
  readonly now: () => number;
  readonly logger: { warn(object: object, message: string): void };
  /** Where plain writes of small files go on in parallel; without it every write is synchronous. */
  readonly writes?: WritesInFlight;
}

/** `blocked`: waits for its content; `waits`: for a write in flight on a path its steps touch. */
export type ApplyOutcome = 'done' | 'blocked' | 'waits';

function errno(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | null)?.code;
}

export class RecordApplier {
  /** Records whose hard link could not be made (its other name gone or replaced): written instead. */
  private readonly unlinkable = new WeakSet<LaneRecord>();

  constructor(private readonly deps: RecordApplierDeps) {}

  /** Registers the content a file event will probably need, before its turn comes. */
  prefetch(record: LaneRecord): void {
    if (!record.decoded.ok || record.contentKey !== undefined) return;
    const event = record.decoded.event;
    if (event.op !== 'file' || event.data !== undefined) return;
    const current = this.deps.index.get(event.path);
    if (current !== undefined && current.seq >= event.seq) return;
    if (current?.kind === 'file' && current.hash === event.hash && current.size === event.size) return;
    // Another name of the inode probably holds it: it is linked, not fetched (fetched then if not).
    if (event.link !== undefined && this.deps.index.linkPeers(event.link, 1).some((p) => p.path !== event.path)) return;
    const adopt = current === undefined ? this.deps.adoptPath(event.path) : undefined;
    record.contentKey = this.deps.supply.want(event.hash, event.size, adopt);
  }

  apply(record: LaneRecord): ApplyOutcome {
    const { decoded } = record;
    if (!decoded.ok) {
      const { code, field, message } = decoded.error;
      // Dead-lettering it would skip a change: the partition waits for an upgraded applier.
      if (code === 'newer-version') throw new Error(`offset ${record.offset}: ${message}`);
      this.deadLetter(record, { code, field, message });
      return 'done';
    }
    const event = decoded.event;
    if (seqTooFarAhead(event.seq, this.deps.now())) {
      this.deadLetter(record, {
        code: 'seq-in-future',
        field: 'headers.seq',
        message: `seq ${event.seq} is more than a day ahead of this clock; applying it would freeze the path`,
      });
      return 'done';
    }
    const { index } = this.deps;
    const current = index.get(event.path);
    const decision = decide(event, this.viewFor(event.path, current, !this.unlinkable.has(record)));
    if (decision.kind === 'skip') {
      this.deps.metrics.events.inc({ op: event.op, outcome: 'skipped' });
      this.deps.metrics.skipped.inc({ reason: decision.reason });
      this.finish(record);
      return 'done';
    }
    if (this.deps.writes?.paths.blocks(event.path, decision.steps) === true) return 'waits';
    let content: Content | undefined;
    const write = decision.steps.find((step) => step.op === 'write');
    if (write !== undefined && event.op === 'file' && event.data !== undefined) {
      // Small files travel inside their record: verified like any download.
      if (sha256Hex(event.data) !== event.hash) {
        this.deadLetter(record, {
          code: 'content-mismatch',
          field: 'value.data',
          message: `inline content does not hash to ${event.hash}`,
        });
        return 'done';
      }
      content = { kind: 'buffer', data: event.data };
    } else if (write !== undefined) {
      record.contentKey ??= this.deps.supply.want(
        write.hash,
        write.size,
        current === undefined ? this.deps.adoptPath(event.path) : undefined,
      );
      const outcome = this.deps.supply.outcome(record.contentKey);
      if (outcome.kind === 'pending') {
        this.deps.supply.demand(record.contentKey);
        return 'blocked';
      }
      if (outcome.kind === 'failed') {
        this.deadLetter(record, { code: outcome.reason, field: 'value.hash', message: outcome.message });
        return 'done';
      }
      content = outcome.content;
    }
    const inFlight = this.parallelWrite(record, event.path, decision.steps, content, current);
    try {
      // A delete of a path the index does not know: the disk may be ahead of the index.
      if (event.op === 'delete' && (current === undefined || current.kind === 'absent'))
        this.deps.fs.remove(event.path);
      for (const step of decision.steps) {
        if (step === inFlight?.step) inFlight.start();
        else this.execute(step, content);
      }
    } catch (error) {
      if (error instanceof UnsafePathError) {
        this.deadLetter(record, { code: 'unsafe-path', field: 'key', message: error.message });
        return 'done';
      }
      if (errno(error) === 'ENAMETOOLONG') {
        this.deadLetter(record, { code: 'path-too-long', field: 'key', message: (error as Error).message });
        return 'done';
      }
      if (error instanceof LinkSourceError) {
        this.deps.logger.warn(
          { path: event.path, from: error.from, why: error.message },
          'cannot hard-link; writing it',
        );
        this.unlinkable.add(record);
        return this.apply(record);
      }
      if (error instanceof NotAFileError && current?.kind === 'file') {
        // The index says the file holds these bytes but the replica lost it: rewrite it.
        this.deps.metrics.drift.inc();
        this.deps.logger.warn({ path: event.path }, 'replica drift: an indexed file is missing; rewriting it');
        this.deps.index.record(event.path, { kind: 'absent', seq: current.seq });
        return this.apply(record);
      }
      throw error;
    }
    this.applied(event, write?.size);
    // The record steps stamped the path with the current epoch: no touch needed.
    this.finish(
      record,
      decision.steps.some((step) => step.op === 'record' && step.path === event.path),
    );
    return 'done';
  }

  /**
   * The index as decide sees it for one event: the path's entry just read, and all its
   * ancestors read in one walk (decide asks for each of them, twice; one by one, a deep
   * path would cost O(depth²)). decide asks only for the path and its ancestors (from
   * ancestorsOf), so an ancestor is known by its length: no string is compared or hashed.
   */
  private viewFor(path: RelPath, current: AppliedEntry | undefined, linking: boolean): ReplicaView {
    const { index } = this.deps;
    const ancestors = index.ancestorEntries(path);
    const byLength = new Map<number, number>();
    for (let slash = path.indexOf('/'), i = 0; slash >= 0; slash = path.indexOf('/', slash + 1), i++)
      byLength.set(slash, i);
    return {
      get: (asked) => {
        if (asked === path) return current;
        const i = byLength.get(asked.length);
        return i !== undefined && asked.charCodeAt(0) === path.charCodeAt(0) ? ancestors[i] : index.get(asked);
      },
      maxSeqBelow: (asked) => index.maxSeqBelow(asked),
      childCount: (asked) => index.childCount(asked),
      linkPeers: (link) => (linking ? index.linkPeers(link) : []),
    };
  }

  /**
   * The decision's write, when it can go on in parallel: bytes in memory, with only index
   * records after it (no later filesystem step may overtake it). start() begins it and has
   * it tracked with the index entry it replaces, to undo should it fail (or writes it at
   * once when the materializer must do it synchronously).
   */
  private parallelWrite(
    record: LaneRecord,
    path: RelPath,
    steps: readonly Step[],
    content: Content | undefined,
    current: AppliedEntry | undefined,
  ) {
    const { writes, fs, index } = this.deps;
    if (writes === undefined || record.synchronous === true || record.reapplied === true) return undefined;
    if (content?.kind !== 'buffer') return undefined;
    const at = steps.findIndex((step) => step.op === 'write');
    if (at < 0 || steps.slice(at + 1).some((step) => step.op !== 'record')) return undefined;
    const step = steps[at] as Extract<Step, { op: 'write' }>;
    // What the index held before this decision, unless an earlier step recorded the path anew.
    const known =
      path === step.path &&
      !steps.slice(0, at).some((earlier) => earlier.op === 'record' && earlier.path === step.path);
    return {
      step,
      start: () => {
        if (!fs.mayWriteInFlight(step.path, step)) return this.execute(step, content);
        const write = fs.writeInFlight(step.path, content.data, step.mode, step.mtimeMs, step);
        const before = known ? current : index.get(step.path);
        writes.track(record, step.path, write, () =>
          before === undefined ? index.remove(step.path) : index.record(step.path, before),
        );
      },
    };
  }

  /** Gives up the record's content without applying it (the lane dropped it). */
  discard(record: LaneRecord): void {
    if (record.contentKey !== undefined) this.deps.supply.release(record.contentKey);
    record.contentKey = undefined;
  }

  private execute(step: Step, content: Content | undefined): void {
    const { fs, index } = this.deps;
    switch (step.op) {
      case 'mkdir':
        return fs.mkdir(step.path, step.mode, step);
      case 'dir-meta':
        return fs.dirMeta(step.path, step.mode, step);
      case 'write':
        return fs.write(step.path, content!, step.mode, step.mtimeMs, step);
      case 'set-meta':
        return fs.setMeta(step.path, step.mode, step.mtimeMs, step);
      case 'link':
        return fs.link(step.path, step.from, step.size, step.names);
      case 'symlink':
        return fs.symlink(step.path, step.target, step);
      case 'unlink':
      case 'remove-tree':
      case 'rmdir':
        return void fs.remove(step.path);
      case 'record':
        return index.record(step.path, step.entry);
      case 'forget-below':
        return index.forgetBelow(step.path);
      default: {
        const unknown: never = step;
        throw new TypeError(`unknown step ${JSON.stringify(unknown)}`);
      }
    }
  }

  private applied(event: MirrorEvent, bytes: number | undefined): void {
    const { metrics } = this.deps;
    metrics.events.inc({ op: event.op, outcome: 'applied' });
    if (bytes !== undefined) metrics.bytesWritten.inc(bytes);
    metrics.applyLatency.observe(Math.max(0, this.deps.now() - event.ts) / 1000);
  }

  private deadLetter(record: LaneRecord, reason: DeadLetterReason): void {
    this.deps.metrics.events.inc({
      op: record.decoded.ok ? record.decoded.event.op : 'invalid',
      outcome: 'dead-lettered',
    });
    this.deps.deadLetter(record, reason);
    this.finish(record);
  }

  private finish(record: LaneRecord, recorded = false): void {
    // A dead-lettered record touches its path too: what the replica holds there stays.
    if (!recorded && record.decoded.ok && this.deps.rebuilding()) this.deps.index.touch(record.decoded.event.path);
    this.discard(record);
  }
}
