// An in-memory replica: the real MemoryAppliedIndex plus a filesystem model that
// refuses what a real filesystem refuses (mkdir over a file, rmdir of a non-empty
// directory, writing under a missing parent...), so an impossible plan fails loudly.
// File writes are applied in parallel, as the lane does: each stays in flight (its index
// record already made) until the schedule completes it, in any order, unless a later step
// touches its path, an ancestor or a descendant (domain/pending-paths.ts): then it
// completes first.
import type { EntryState, MirrorEvent, Owner } from '../../schemas/event.ts';
import { isBelow, parentOf, type RelPath } from '../../schemas/rel-path.ts';
import { MemoryAppliedIndex } from '../../services/applier/adapters/memory-applied-index.ts';
import { decide } from '../../services/applier/domain/decide.ts';
import { PendingPaths } from '../../services/applier/domain/pending-paths.ts';
import { IMPLICIT_DIR_MODE, type Step } from '../../services/applier/domain/plan.ts';

function owned(owner: Owner | undefined): { owner?: Owner } {
  return owner === undefined ? {} : { owner };
}

function timed(step: { mtimeMs?: number }): { mtimeMs?: number } {
  return step.mtimeMs === undefined ? {} : { mtimeMs: step.mtimeMs };
}

export class ReplicaModel {
  readonly index = new MemoryAppliedIndex();
  private readonly fs = new Map<string, EntryState>();
  private readonly pending = new PendingPaths();
  private readonly inFlight = new Map<string, { step: Step; event: MirrorEvent }>();
  /** Writes that had to complete early because a later step touched their path. */
  waitedFor = 0;
  /** Writes completed while an older one was still in flight. */
  outOfOrder = 0;

  deliver(event: MirrorEvent): void {
    const { steps } = decide(event, this.index);
    this.completeTouching(event.path);
    for (const step of steps) {
      if (step.op === 'record' || step.op === 'forget-below') {
        this.execute(step, event);
        continue;
      }
      this.completeTouching(step.path);
      if (step.op === 'link') this.completeTouching(step.from);
      if (step.op !== 'write') {
        this.execute(step, event);
        continue;
      }
      this.pending.add(step.path);
      this.inFlight.set(step.path, { step, event });
    }
  }

  /** Completes the write in flight chosen by `choice` (any of them: completions come in any order). */
  completeOne(choice: number): void {
    if (this.inFlight.size === 0) return;
    this.complete([...this.inFlight.keys()][choice % this.inFlight.size]!);
  }

  /** Completes every write in flight (a durability point waits for them all). */
  settle(): void {
    for (const path of [...this.inFlight.keys()]) this.complete(path);
  }

  private completeTouching(path: string): void {
    if (!this.pending.touches(path)) return;
    for (const other of [...this.inFlight.keys()]) {
      if (other === path || isBelow(other, path) || isBelow(path, other)) {
        this.waitedFor++;
        this.complete(other);
      }
    }
  }

  private complete(path: string): void {
    const { step, event } = this.inFlight.get(path)!;
    if (this.inFlight.keys().next().value !== path) this.outOfOrder++;
    this.inFlight.delete(path);
    this.pending.delete(path);
    this.execute(step, event);
  }

  /** What a tombstone clean-up does: the applier does not keep deletes forever. */
  forgetTombstones(): void {
    this.index.pruneTombstones(Number.POSITIVE_INFINITY);
  }

  snapshot(): Map<string, EntryState> {
    if (this.inFlight.size > 0) throw new Error(`${this.inFlight.size} writes still in flight: settle() first`);
    return new Map(this.fs);
  }

  /** Every present index entry matches the filesystem, and every file is indexed. */
  checkIndexMatchesFs(): string | undefined {
    for (const [path, entry] of this.index.entries()) {
      const node = this.fs.get(path);
      if (entry.kind === 'absent') {
        if (node !== undefined) return `${JSON.stringify(path)} is indexed absent but holds a ${node.kind}`;
      } else if (node?.kind !== entry.kind) {
        return `${JSON.stringify(path)} is indexed ${entry.kind} but holds ${node?.kind ?? 'nothing'}`;
      }
    }
    for (const path of this.fs.keys()) {
      const entry = this.index.get(path as RelPath);
      if (entry === undefined || entry.kind === 'absent') return `${JSON.stringify(path)} exists but is not indexed`;
    }
    return undefined;
  }

  private execute(step: Step, event: MirrorEvent): void {
    const fail = (why: string) => {
      throw new Error(`step ${JSON.stringify(step)} for event ${JSON.stringify(event)}: ${why}`);
    };
    const { path } = step;
    const node = this.fs.get(path);
    const parentIsDir = () => parentOf(path) === '' || this.fs.get(parentOf(path))?.kind === 'dir';
    switch (step.op) {
      case 'mkdir':
        if (!parentIsDir()) fail('parent is not a directory');
        if (node !== undefined) fail(`path holds a ${node.kind}`);
        this.fs.set(path, { kind: 'dir', mode: step.mode ?? IMPLICIT_DIR_MODE, ...owned(step.owner), ...timed(step) });
        return;
      case 'dir-meta':
        if (node?.kind !== 'dir') fail('not a directory');
        this.fs.set(path, { kind: 'dir', mode: step.mode, ...owned(step.owner), ...timed(step) });
        return;
      case 'write':
        if (!parentIsDir()) fail('parent is not a directory');
        if (node?.kind === 'dir') fail('path is a directory');
        this.fs.set(path, {
          kind: 'file',
          hash: step.hash,
          size: step.size,
          mode: step.mode,
          mtimeMs: step.mtimeMs,
          ...owned(step.owner),
        });
        return;
      case 'link': {
        const source = this.fs.get(step.from);
        if (!parentIsDir()) fail('parent is not a directory');
        if (source?.kind !== 'file' || source.size !== step.size) fail(`cannot link to ${source?.kind ?? 'nothing'}`);
        this.fs.set(path, { ...(source as Extract<EntryState, { kind: 'file' }>) });
        return;
      }
      case 'set-meta':
        if (node?.kind !== 'file') fail('not a file');
        this.fs.set(path, {
          ...(node as Extract<EntryState, { kind: 'file' }>),
          mode: step.mode,
          mtimeMs: step.mtimeMs,
          ...owned(step.owner),
        });
        return;
      case 'symlink':
        if (!parentIsDir()) fail('parent is not a directory');
        if (node?.kind === 'dir') fail('path is a directory');
        this.fs.set(path, { kind: 'symlink', target: step.target, ...owned(step.owner), ...timed(step) });
        return;
      case 'unlink':
        if (node?.kind !== 'file' && node?.kind !== 'symlink') fail(`cannot unlink ${node?.kind ?? 'nothing'}`);
        this.fs.delete(path);
        return;
      case 'remove-tree':
        if (node?.kind !== 'dir') fail('not a directory');
        this.fs.delete(path);
        for (const other of [...this.fs.keys()]) if (isBelow(other, path)) this.fs.delete(other);
        return;
      case 'rmdir':
        if (node?.kind !== 'dir') fail('not a directory');
        if ([...this.fs.keys()].some((other) => isBelow(other, path))) fail('directory not empty');
        this.fs.delete(path);
        return;
      case 'record':
        this.index.record(path, step.entry);
        return;
      case 'forget-below':
        this.index.forgetBelow(path);
        return;
      default: {
        const unknown: never = step;
        fail(`unknown step ${JSON.stringify(unknown)}`);
      }
    }
  }
}
