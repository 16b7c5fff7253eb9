// The apply lane's durability points (every commitInterval, every maxUncommitted records,
// before and after a sweep, at stop), in this order:
//   1. the filesystem is made durable (durability.ts),
//   2. the index transaction commits, with the positions it covers,
//   3. Kafka offsets are committed (asynchronously; the group's offsets are for status
//      and lag, the applier resumes from the positions stored with the index).
// So what Kafka says is applied ⊆ what the index says ⊆ what is on disk. After a crash
// the disk may be ahead of the index; the materializer tolerates that.
import type { ApplyLaneDeps, ApplyLaneOptions } from './apply-lane-deps.ts';
import { positionsToJson, samePositions } from './positions.ts';
import { REPLICA_META_KEY } from '../../schemas/names.ts';

export const POSITIONS_META = REPLICA_META_KEY.positions;

type DurabilityDeps = Pick<
  ApplyLaneDeps,
  'index' | 'positions' | 'makeDurable' | 'afterIndexCommit' | 'commitOffsets' | 'clock' | 'metrics' | 'logger'
>;

export class DurabilityPoints {
  /** Records applied since the last durability point. */
  private uncommitted = 0;
  private lastDurableAt: number;
  private lastDurable = new Map<number, number>();

  constructor(
    private readonly deps: DurabilityDeps,
    private readonly options: Pick<ApplyLaneOptions, 'commitIntervalMs' | 'maxUncommitted'>,
    /** The index failed mid-transaction: the lane holds from then on. */
    private readonly loseIndex: (error: unknown) => void,
  ) {
    this.lastDurableAt = deps.clock.now();
  }

  /** Counts records applied. */
  applied(count: number): void {
    this.uncommitted += count;
  }

  due(): boolean {
    if (this.uncommitted >= this.options.maxUncommitted) return true;
    if (this.deps.clock.now() - this.lastDurableAt < this.options.commitIntervalMs) return false;
    return this.uncommitted > 0 || !samePositions(this.deps.positions.durable(), this.lastDurable);
  }

  /** How long until the next durability point is due. */
  dueInMs(): number {
    return this.uncommitted > 0
      ? this.options.commitIntervalMs - (this.deps.clock.now() - this.lastDurableAt)
      : this.options.commitIntervalMs;
  }

  /** Makes what was applied durable, then commits it; `force` even when nothing changed. */
  async reach(force = false): Promise<void> {
    const positions = this.deps.positions.durable();
    if (!force && this.uncommitted === 0 && samePositions(positions, this.lastDurable)) return;
    const started = this.deps.clock.now();
    try {
      await this.deps.makeDurable();
    } catch (error) {
      // Nothing is committed: the work stays redeliverable. Try again at the next point.
      this.deps.logger.error({ err: error }, 'cannot make the replica durable; not committing');
      this.deps.metrics.stalls.inc();
      this.lastDurableAt = this.deps.clock.now();
      return;
    }
    try {
      this.deps.index.writeMeta(POSITIONS_META, positionsToJson(positions));
      this.deps.index.commit();
      this.deps.afterIndexCommit();
    } catch (error) {
      // The state directory is full (or failing): hold and report; never exit.
      this.loseIndex(error);
      return;
    }
    this.uncommitted = 0;
    this.lastDurable = positions;
    this.lastDurableAt = this.deps.clock.now();
    this.deps.metrics.durabilityPoint.observe((this.lastDurableAt - started) / 1000);
    for (const [partition, offset] of positions) {
      this.deps.metrics.committedOffset.set({ partition: String(partition) }, offset);
      const lag = this.deps.positions.lag(partition);
      if (lag !== undefined) this.deps.metrics.lag.set({ partition: String(partition) }, lag);
    }
    this.deps.commitOffsets(positions);
  }
}
