// Whether the state directory has room for more work (state-space.ts), asked about at
// most once a second; a change either way is logged once.
import type { ApplyLaneDeps } from './apply-lane-deps.ts';

export const SPACE_CHECK_MS = 1000;

export class StateSpaceHold {
  /** The state directory lacks room: nothing is applied until it has some again. */
  private problem: string | undefined;
  private nextCheckAt = 0;

  constructor(private readonly deps: Pick<ApplyLaneDeps, 'stateSpace' | 'clock' | 'metrics' | 'logger'>) {}

  /** Why nothing can be applied now, if so. */
  get reason(): string | undefined {
    return this.problem;
  }

  /** Whether the lane must hold for lack of room. */
  holding(): boolean {
    const { stateSpace } = this.deps;
    if (stateSpace === undefined) return false;
    const now = this.deps.clock.now();
    if (now >= this.nextCheckAt) {
      this.nextCheckAt = now + SPACE_CHECK_MS;
      const problem = stateSpace();
      if (problem !== this.problem) {
        if (problem !== undefined) this.deps.logger.error({ problem }, 'holding: the state directory has no room');
        else this.deps.logger.info('the state directory has room again; applying');
        if (problem !== undefined) this.deps.metrics.stalls.inc();
      }
      this.problem = problem;
    }
    return this.problem !== undefined;
  }
}
