// Holds the observations that would delete something until the mass-deletion guard
// (domain/delete-guard.ts) has judged them: a burst is judged whole once it is quiet, a
// walk's once the walk ended. Published when the guard allows it; otherwise kept held,
// with the producer not ready and the reason logged, while everything else goes on.
// Held paths are looked at again now and then: what came back (a disk mounted again)
// stops being a delete.
import type { Logger } from '../shared/logger.ts';
import { DeleteWindow, dueForJudgement, judgeDeletes, outermostPaths, type MaxDelete } from './domain/delete-guard.ts';
import type { Observation } from './examiner.ts';
import type { ProducerMetrics } from './metrics.ts';

export type DeleteHoldDeps = {
  max: MaxDelete;
  /** --confirm-deletes: the deletes found by this start's walk are published whatever their number. */
  confirmed: boolean;
  /** The command line that confirms, for the log. */
  confirmCommand: string;
  /** Index entries `observation` would delete (0: it deletes nothing). */
  countDeletes: (observation: Observation) => number;
  /** Whether `observation` adds an entry the index does not hold. */
  isCreate: (observation: Observation) => boolean;
  /** Whether work that came with the deletes is still under way (new directories walked, hints queued). */
  isBusy: () => boolean;
  treeEntries: () => number;
  /** Whether a reconcile walk is running (it may find more deletes). */
  isWalking: () => boolean;
  /** Why the root is not the one the index was made from, if it is not. */
  identityChanged: () => string | undefined;
  /** The root holds the whole tree although its identity changed: record the new identity. */
  acceptIdentity: () => void;
  /** Back into the publish queue: the guard allows them. */
  requeue: (observations: Observation[]) => void;
  rehint: (path: string) => void;
  /** Something changed that the pipeline's idle state depends on. */
  changed: () => void;
  metrics: ProducerMetrics;
  logger: Logger;
  now?: () => number;
  quietMs?: number;
  maxWaitMs?: number;
  /** Deletes published within this window count towards the next judgement (one burst). */
  burstWindowMs?: number;
  /** While holding: how often held paths are looked at again. */
  recheckMs?: number;
};

const TICK_MS = 200;

export class DeleteHold {
  private readonly pending = new Map<string, Observation>();
  private readonly approved = new WeakSet<Observation>();
  // Creates are counted once, however often a batch is retried.
  private readonly counted = new WeakSet<Observation>();
  private readonly window: DeleteWindow;
  private firstHeldAt = 0;
  private lastHeldAt = 0;
  private lastRecheck = 0;
  private startWalkDone = false;
  private settled = false;
  private confirmed: boolean;
  private holding: string | undefined;
  /** Held paths changed since the last judgement. */
  private dirty = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: DeleteHoldDeps) {
    this.confirmed = deps.confirmed;
    this.window = new DeleteWindow(deps.burstWindowMs ?? 60_000);
  }

  private get now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /** The reason deletes are held, for /readyz (undefined while none are). */
  get reason(): string | undefined {
    return this.holding === undefined
      ? undefined
      : `deletes held: ${this.holding}; to publish them: ${this.deps.confirmCommand}`;
  }

  /** Deletes waiting for a judgement (the pipeline is not idle meanwhile). */
  get judging(): boolean {
    return this.pending.size > 0 && this.holding === undefined;
  }

  /** The start-up walk ended: its deletes can be judged. */
  startWalkFinished(): void {
    this.startWalkDone = true;
    this.arm();
  }

  /**
   * Everything the start found is published or held. A confirmation covered only that;
   * and a root whose identity changed but that deleted nothing holds the whole tree (a
   * copy, a restore): its identity is the one to compare with from now on.
   */
  startSettled(): void {
    this.confirmed = false;
    this.settled = true;
    const identityChanged = this.deps.identityChanged();
    if (this.pending.size === 0 && this.holding === undefined && identityChanged !== undefined) {
      this.deps.logger.warn(
        { change: identityChanged },
        'the root changed identity but holds the whole tree: recording its new identity',
      );
      this.deps.acceptIdentity();
    }
  }

  /** Of `batch`, what may be published now; the rest is held here. */
  admit(batch: readonly Observation[]): Observation[] {
    const publish: Observation[] = [];
    for (const observation of batch) {
      if (this.approved.has(observation) || this.deps.max.kind === 'off') {
        publish.push(observation);
        continue;
      }
      if (this.deps.countDeletes(observation) === 0) {
        // Not the start's own: a tree being populated is not a burst that offsets a wipe.
        if (this.settled && !this.counted.has(observation) && this.deps.isCreate(observation)) {
          this.counted.add(observation);
          this.window.add(this.now, -1);
        }
        // A newer look at a held path that deletes nothing (it came back) replaces it.
        if (this.pending.delete(observation.path)) this.dirty = true;
        publish.push(observation);
        continue;
      }
      if (this.pending.size === 0) this.firstHeldAt = this.now;
      this.lastHeldAt = this.now;
      this.pending.set(observation.path, observation);
      this.dirty = true;
    }
    this.arm();
    return publish;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  private arm(): void {
    if (this.timer !== undefined || (this.pending.size === 0 && this.holding === undefined && this.startWalkDone))
      return;
    this.timer = setInterval(() => this.judge(), TICK_MS);
    this.timer.unref();
  }

  private heldEntries(): number {
    let entries = 0;
    for (const path of outermostPaths(this.pending.keys())) entries += this.deps.countDeletes(this.pending.get(path)!);
    return entries;
  }

  private judge(): void {
    const { deps } = this;
    const now = this.now;
    const walking = !this.startWalkDone || deps.isWalking();
    if (walking || (this.pending.size === 0 && this.holding === undefined)) return;
    // While holding, judged again when held paths changed or at each recheck (a root mounted again).
    if (this.holding !== undefined && !this.dirty && now - this.lastRecheck < (deps.recheckMs ?? 30_000)) return;
    const held = { now, firstHeldAt: this.firstHeldAt, lastHeldAt: this.lastHeldAt, walking, busy: deps.isBusy() };
    if (this.pending.size > 0 && !dueForJudgement(held, deps.quietMs ?? 1000, deps.maxWaitMs ?? 30_000)) {
      return;
    }
    this.dirty = false;
    const identityChanged = deps.identityChanged();
    const pendingEntries = this.heldEntries();
    const judgement = judgeDeletes({
      pendingEntries,
      recentlyDeleted: this.window.total(now),
      treeEntries: deps.treeEntries(),
      max: deps.max,
      identityChanged,
      confirmed: this.confirmed,
    });
    const confirmed = this.confirmed;
    if (judgement.verdict === 'hold') {
      this.hold(judgement.reason, pendingEntries, now);
      return;
    }
    if (identityChanged !== undefined) {
      // Published by confirmation, or nothing to delete: the root holds the tree.
      deps.logger.warn(
        { change: identityChanged, confirmed },
        'the root changed identity but holds the tree: recording its new identity',
      );
      deps.acceptIdentity();
    }
    if (this.holding !== undefined) deps.logger.warn({ entries: pendingEntries, confirmed }, 'held deletes released');
    this.holding = undefined;
    const released = [...this.pending.values()];
    this.pending.clear();
    for (const observation of released) this.approved.add(observation);
    this.window.add(now, pendingEntries);
    if (released.length > 0) deps.requeue(released);
    this.stop();
    this.updateMetrics(0);
    deps.changed();
  }

  private hold(reason: string, entries: number, now: number): void {
    const { deps } = this;
    if (this.holding !== reason) {
      deps.logger.error(
        { reason, entries, paths: this.pending.size, confirm: deps.confirmCommand },
        `mass deletion held, nothing deleted: ${reason}. ` +
          `If this is intended, restart with --confirm-deletes: ${deps.confirmCommand}`,
      );
      deps.metrics.deleteHolds.inc();
    }
    this.holding = reason;
    this.updateMetrics(entries);
    deps.changed();
    if (now - this.lastRecheck >= (deps.recheckMs ?? 30_000)) {
      this.lastRecheck = now;
      for (const path of this.pending.keys()) deps.rehint(path);
    }
  }

  private updateMetrics(entries: number): void {
    this.deps.metrics.deletesHeld.set(entries);
    this.deps.metrics.deleteGuardHolding.set(this.holding === undefined ? 0 : 1);
  }
}

/** What an observation would delete from the index: the path itself when it is gone, and whatever was below it. */
export function countIndexDeletes(
  index: { get(path: Observation['path']): { state: { kind: string } } | undefined; countBelow(dir: string): number },
  observation: Observation,
): number {
  const indexed = index.get(observation.path);
  if (indexed === undefined) return 0;
  if (observation.observed === undefined) return 1 + index.countBelow(observation.path);
  // Replaced by a file or symlink: what the directory held goes (see diffPath).
  if (observation.observed.kind !== 'dir') return index.countBelow(observation.path);
  return 0;
}

/** The command line that confirms held deletes (the operator adds the options they run with). */
export function confirmDeletesCommand(where: { root: string; topic: string; stateDir: string }): string {
  const quote = (text: string) => (/^[\w./@:=-]+$/.test(text) ? text : `'${text.replace(/'/g, "'\\''")}'`);
  return (
    `mirrorlog producer --root ${quote(where.root)} --topic ${quote(where.topic)} ` +
    `--state-dir ${quote(where.stateDir)} --confirm-deletes ` +
    '(with your other options; or MIRRORLOG_CONFIRM_DELETES=true for one start)'
  );
}
