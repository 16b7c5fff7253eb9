// The producer's Prometheus metrics, all on the service's own registry.
import { Counter, Gauge, Histogram } from 'prom-client';
import { createMetricsRegistry, type Registry } from '../shared/metrics.ts';

export type ProducerMetrics = ReturnType<typeof createProducerMetrics>;

export function createProducerMetrics(registry: Registry = createMetricsRegistry('producer')) {
  const registers = [registry];
  let watcherStatus = (): { watched: number; unwatched: number } => ({ watched: 0, unwatched: 0 });
  return {
    /** Makes the watcher gauges read the running backend's counters at each scrape. */
    observeWatcher(status: () => { watched: number; unwatched: number }): void {
      watcherStatus = status;
    },
    watcherBackend: new Gauge({
      name: 'mirrorlog_producer_watcher_backend',
      help: 'The watcher backend in use (1 for the running one)',
      labelNames: ['backend'],
      registers,
    }),
    watcherOverflows: new Counter({
      name: 'mirrorlog_producer_watcher_overflows_total',
      help: 'Kernel event queue overflows (each triggers a reconcile), by backend',
      labelNames: ['backend'],
      registers,
    }),
    watcherWatchedDirectories: new Gauge({
      name: 'mirrorlog_producer_watcher_watched_directories',
      help: 'Directories the watcher knows (inotify watches, fanotify directory handles, parcel subscriptions)',
      registers,
      collect() {
        this.set(watcherStatus().watched);
      },
    }),
    watcherUnwatchedDirectories: new Gauge({
      name: 'mirrorlog_producer_watcher_unwatched_directories',
      help: 'Directories that could not be watched (inotify watch limit), checked on a timer instead',
      registers,
      collect() {
        this.set(watcherStatus().unwatched);
      },
    }),
    registry,
    eventsPublished: new Counter({
      name: 'mirrorlog_producer_events_published_total',
      help: 'Events published, by op',
      labelNames: ['op'],
      registers,
    }),
    bytesUploaded: new Counter({
      name: 'mirrorlog_producer_bytes_uploaded_total',
      help: 'Content bytes uploaded to the object store',
      registers,
    }),
    objectsUploaded: new Counter({
      name: 'mirrorlog_producer_objects_uploaded_total',
      help: 'Objects uploaded to the object store',
      registers,
    }),
    uploadsSkipped: new Counter({
      name: 'mirrorlog_producer_uploads_skipped_total',
      help: 'Uploads skipped because the content was known to be stored',
      registers,
    }),
    filesHashed: new Counter({
      name: 'mirrorlog_producer_files_hashed_total',
      help: 'Files read and hashed',
      registers,
    }),
    retriedNotAtRest: new Counter({
      name: 'mirrorlog_producer_files_changed_while_read_total',
      help: 'Files that changed while read, retried later',
      registers,
    }),
    skipped: new Counter({
      name: 'mirrorlog_producer_entries_skipped_total',
      help: 'Entries not mirrored, by reason (special file, name or link target not UTF-8, invalid path)',
      labelNames: ['reason'],
      registers,
    }),
    unreadable: new Gauge({
      name: 'mirrorlog_producer_unreadable_entries',
      help: 'Entries skipped now because they cannot be read (EACCES); what was published of them stays',
      registers,
    }),
    snapshotReads: new Counter({
      name: 'mirrorlog_producer_snapshot_reads_total',
      help: 'Files that never came to rest, published from a one-pass snapshot read',
      registers,
    }),
    hintsDropped: new Counter({
      name: 'mirrorlog_producer_hints_dropped_total',
      help: 'Hints dropped because too many were queued (a reconcile covers them)',
      registers,
    }),
    errors: new Counter({
      name: 'mirrorlog_producer_errors_total',
      help: 'Errors, by kind',
      labelNames: ['kind'],
      registers,
    }),
    hintsQueued: new Gauge({
      name: 'mirrorlog_producer_hints_queued',
      help: 'Paths waiting to be examined',
      registers,
    }),
    pendingPublish: new Gauge({
      name: 'mirrorlog_producer_pending_publish',
      help: 'Examined paths waiting to be published',
      registers,
    }),
    inFlight: new Gauge({
      name: 'mirrorlog_producer_paths_in_flight',
      help: 'Paths being examined, uploaded or published',
      registers,
    }),
    lastSeq: new Gauge({ name: 'mirrorlog_producer_last_seq', help: 'Last seq published', registers }),
    lastPublishTime: new Gauge({
      name: 'mirrorlog_producer_last_publish_timestamp_seconds',
      help: 'When the last batch was acknowledged',
      registers,
    }),
    publishLatency: new Histogram({
      name: 'mirrorlog_producer_publish_latency_seconds',
      help: 'From the first hint of a change to its acknowledgement by Kafka',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    }),
    reconcileRunning: new Gauge({
      name: 'mirrorlog_producer_reconcile_running',
      help: '1 while a reconcile walks the tree',
      registers,
    }),
    reconcileEntries: new Gauge({
      name: 'mirrorlog_producer_reconcile_entries_scanned',
      help: 'Entries scanned by the current (or last) reconcile',
      registers,
    }),
    reconcileDirs: new Gauge({
      name: 'mirrorlog_producer_reconcile_dirs_scanned',
      help: 'Directories scanned by the current (or last) reconcile',
      registers,
    }),
    reconcileExpected: new Gauge({
      name: 'mirrorlog_producer_reconcile_entries_expected',
      help: 'Entries the current (or last) reconcile expects to scan: those of the index (0: unknown)',
      registers,
    }),
    reconcileEta: new Gauge({
      name: 'mirrorlog_producer_reconcile_eta_seconds',
      help: 'Time left of the running reconcile at its rate so far (NaN: estimating, no total or rate yet)',
      registers,
    }),
    firstPublicationExpected: new Gauge({
      name: 'mirrorlog_producer_first_publication_entries_expected',
      help: 'Entries counted in a tree published for the first time (0: not counted yet, or no first publication)',
      registers,
    }),
    firstPublicationPublished: new Gauge({
      name: 'mirrorlog_producer_first_publication_entries_published',
      help: 'Events published so far by the first publication of the tree',
      registers,
    }),
    firstPublicationEta: new Gauge({
      name: 'mirrorlog_producer_first_publication_eta_seconds',
      help: 'Time left of the first publication at its rate so far (NaN: estimating; 0: done)',
      registers,
    }),
    reconcileDifferences: new Gauge({
      name: 'mirrorlog_producer_reconcile_differences',
      help: 'Differences found by the current (or last) reconcile',
      registers,
    }),
    reconciles: new Counter({
      name: 'mirrorlog_producer_reconciles_total',
      help: 'Reconciles finished, by trigger',
      labelNames: ['trigger'],
      registers,
    }),
    lastReconcileSeconds: new Gauge({
      name: 'mirrorlog_producer_last_reconcile_duration_seconds',
      help: 'Duration of the last finished reconcile',
      registers,
    }),
    lastReconcileTime: new Gauge({
      name: 'mirrorlog_producer_last_reconcile_timestamp_seconds',
      help: 'When the last reconcile finished',
      registers,
    }),
    watcherSubscriptions: new Gauge({
      name: 'mirrorlog_producer_watcher_subscriptions',
      help: 'Active @parcel/watcher subscriptions',
      registers,
    }),
    deletesHeld: new Gauge({
      name: 'mirrorlog_producer_deletes_held',
      help: 'Index entries whose deletes the mass-deletion guard holds (at its last judgement)',
      registers,
    }),
    deleteGuardHolding: new Gauge({
      name: 'mirrorlog_producer_delete_guard_holding',
      help: '1 while the mass-deletion guard holds deletes until --confirm-deletes',
      registers,
    }),
    deleteHolds: new Counter({
      name: 'mirrorlog_producer_delete_holds_total',
      help: 'Times the mass-deletion guard started holding deletes',
      registers,
    }),
    indexEntries: new Gauge({
      name: 'mirrorlog_producer_index_entries',
      help: 'Entries in the index at the last reconcile',
      registers,
    }),
  };
}
