// When a running applier is ready (/readyz): only when it could take over now. A replica
// mid-rebuild is not fit to, nor one whose lane cannot apply, whose store refuses it, or
// whose consumer has no partitions yet. The first reason that holds is the one reported.
import type { Readiness } from '../shared/http-server.ts';

export type ApplierState = {
  stopping: boolean;
  /** Why the content store refuses this applier (credentials), if it does. */
  storeRefusal: string | undefined;
  /** Why Kafka is unreachable, if it is. */
  kafkaProblem: string | undefined;
  /** Whether the consumer has had its partitions assigned. */
  assigned: boolean;
  /** How far a rebuild in progress has replayed (0..1); undefined when none is. */
  rebuildRatio: number | undefined;
  /** Why the lane cannot apply some records (a failing filesystem, a full state directory). */
  stalled: string | undefined;
};

export function applierReadiness(state: ApplierState): Readiness {
  if (state.stopping) return { ready: false, reason: 'stopping' };
  if (state.storeRefusal !== undefined) return { ready: false, reason: state.storeRefusal };
  if (state.kafkaProblem !== undefined) return { ready: false, reason: state.kafkaProblem };
  if (!state.assigned) return { ready: false, reason: 'waiting for partition assignment' };
  if (state.rebuildRatio !== undefined)
    return { ready: false, reason: `rebuilding (${(state.rebuildRatio * 100).toFixed(1)}% replayed)` };
  if (state.stalled !== undefined) return { ready: false, reason: `cannot apply: ${state.stalled}` };
  return { ready: true };
}
