// One Prometheus registry per service. A registry of our own (not prom-client's global
// default) keeps tests and the all-in-one `mirrorlog up` (producer and applier in one
// process) from sharing or double-registering metrics.
import { Registry, collectDefaultMetrics } from 'prom-client';

export type { Registry } from 'prom-client';

export const METRIC_PREFIX = 'mirrorlog_';

/**
 * A registry labelled with `service`, holding the default process metrics
 * (`mirrorlog_process_*`, `mirrorlog_nodejs_*`).
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: METRIC_PREFIX });
  return registry;
}
