// The applier's Prometheus metrics, registered on the service's own registry.
import { Counter, Gauge, Histogram } from 'prom-client';
import type { Registry } from 'prom-client';
import { METRIC_PREFIX } from '../shared/metrics.ts';

const name = (suffix: string) => `${METRIC_PREFIX}applier_${suffix}`;

export function createApplierMetrics(registry: Registry) {
  const registers = [registry];
  return {
    events: new Counter({
      name: name('events_total'),
      help: 'Events handled, by op and outcome (applied, skipped, dead-lettered)',
      labelNames: ['op', 'outcome'] as const,
      registers,
    }),
    skipped: new Counter({
      name: name('skipped_total'),
      help: 'Events skipped by the last-writer-wins rules, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    bytesWritten: new Counter({
      name: name('bytes_written_total'),
      help: 'File content bytes written to the replica',
      registers,
    }),
    contentAcquired: new Counter({
      name: name('content_acquired_total'),
      help: 'Contents obtained, by source (local copy or object store)',
      labelNames: ['source'] as const,
      registers,
    }),
    contentBytes: new Counter({
      name: name('content_acquired_bytes_total'),
      help: 'Content bytes obtained, by source',
      labelNames: ['source'] as const,
      registers,
    }),
    deadLetters: new Counter({
      name: name('dead_letters_total'),
      help: 'Records written to the dead-letter topic, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    lag: new Gauge({
      name: name('lag_records'),
      help: 'High watermark minus the next offset to apply, per partition',
      labelNames: ['partition'] as const,
      registers,
    }),
    committedOffset: new Gauge({
      name: name('committed_offset'),
      help: 'Next offset to apply, as last made durable, per partition',
      labelNames: ['partition'] as const,
      registers,
    }),
    applyLatency: new Histogram({
      name: name('apply_latency_seconds'),
      help: "From the event's detection (ts) to its application on the replica",
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
      registers,
    }),
    durabilityPoint: new Histogram({
      name: name('durability_point_seconds'),
      help: 'Duration of a durability point (filesystem sync + index commit)',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    queuedRecords: new Gauge({
      name: name('queued_records'),
      help: 'Records fetched and waiting to be applied',
      registers,
    }),
    writesInFlight: new Gauge({
      name: name('writes_in_flight'),
      help: 'File writes going on in parallel on the thread pool',
      registers,
    }),
    parallelWrites: new Counter({
      name: name('parallel_writes_total'),
      help: 'File writes done in parallel on the thread pool, by outcome (done, or redone in order after a failure)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    bufferedContentBytes: new Gauge({
      name: name('buffered_content_bytes'),
      help: 'Content held in memory ahead of the apply cursor',
      registers,
    }),
    rebuilding: new Gauge({
      name: name('rebuilding'),
      help: '1 while a rebuild (replay + sweep) is in progress',
      registers,
    }),
    rebuildProgress: new Gauge({
      name: name('rebuild_progress_ratio'),
      help: 'Share of the rebuild replay done (0..1)',
      registers,
    }),
    sweptEntries: new Counter({
      name: name('swept_entries_total'),
      help: 'Entries removed by rebuild sweeps (not in the replayed log)',
      registers,
    }),
    drift: new Counter({
      name: name('drift_total'),
      help: 'Times the replica did not hold what the index said (repaired)',
      registers,
    }),
    healRequests: new Counter({
      name: name('heal_requests_total'),
      help: 'Contents found missing or corrupt in the store and asked to be uploaded again, by reason',
      labelNames: ['reason'] as const,
      registers,
    }),
    healWaiting: new Gauge({
      name: name('heal_waiting'),
      help: 'Dead-lettered records waiting for their content to be uploaded again (kept across restarts)',
      registers,
    }),
    attributesRefused: new Counter({
      name: name('attributes_refused_total'),
      help: 'Extended attributes or ACLs the replica refused (its filesystem or the applier lacks the privilege)',
      labelNames: ['namespace'] as const,
      registers,
    }),
    setidStripped: new Counter({
      name: name('setid_stripped_total'),
      help: 'Files written without the setuid/setgid bits the log asked for (no --allow-setid)',
      registers,
    }),
    info: new Gauge({
      name: name('info'),
      help: 'Always 1: which replica of which topic this applier serves',
      labelNames: ['replica', 'topic'] as const,
      registers,
    }),
    stalls: new Counter({
      name: name('stalls_total'),
      help: 'Apply errors that were retried (filesystem or durability failures)',
      registers,
    }),
  };
}

export type ApplierMetrics = ReturnType<typeof createApplierMetrics>;
