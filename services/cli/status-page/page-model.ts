// What the status page shows, as plain data: the JSON the browser receives. Built by
// StatusHistory (status-history.ts) from samples of Kafka and of the services' metrics.
import type { GroupSample, PartitionOffsets } from '../status-report.ts';
import type { PromSample } from './prom-text.ts';

/** One service's /metrics and /readyz, as read at one tick. */
export type ScrapeResult = {
  readonly url: string;
  /** Undefined when the port did not answer. */
  readonly samples?: readonly PromSample[];
  readonly error?: string;
  readonly ready?: { readonly ok: boolean; readonly text: string };
};

export type KafkaSample =
  | {
      readonly ok: true;
      readonly offsets: readonly PartitionOffsets[];
      readonly groups: readonly GroupSample[];
      /** Records in each replica's dead-letter topic (absent: the topic does not exist, so none). */
      readonly deadLetters: Readonly<Record<string, number>>;
    }
  | { readonly ok: false; readonly error: string };

/** Everything read at one tick. `at` is the tick's time (ms); the core never reads the clock. */
export type RawSample = { readonly at: number; readonly kafka: KafkaSample; readonly scrapes: readonly ScrapeResult[] };

export type ReplicaState = 'live' | 'rebuilding' | 'stalled';

export type ReplicaView = {
  replica: string;
  state: ReplicaState;
  /** Why it is stalled; what it is doing when rebuilding. */
  reason: string | null;
  lag: number;
  /** How long the oldest record not yet applied has waited. */
  lagSeconds: number;
  /** The oldest waiting record is older than the page's history: the true lag is larger. */
  lagSecondsAtLeast: boolean;
  applyRate: number;
  lastAppliedAt: number | null;
  rebuild: { progress: number; etaSeconds: number | null } | null;
  deadLetters: { count: number; latestCodes: string[] };
  metricsUrl: string | null;
  metricsError: string | null;
};

export type ReconcileView = {
  running: boolean | null;
  finished: number | null;
  lastTrigger: string | null;
  lastAt: number | null;
  lastDurationSeconds: number | null;
  differences: number | null;
  entriesScanned: number | null;
  /** Entries the running walk expects (from the index); null when unknown. */
  expectedEntries: number | null;
  /** Time left of the running walk; null: estimating (or not exported). */
  etaSeconds: number | null;
};

/** The first publication of a tree, while it runs (null otherwise). */
export type FirstPublicationView = {
  published: number;
  /** null: the tree is still being counted. */
  expected: number | null;
  /** null: estimating. */
  etaSeconds: number | null;
};

/** A null field is a metric the producer does not export (shown as n/a). */
export type ProducerView = {
  url: string;
  reachable: boolean;
  error: string | null;
  ready: boolean | null;
  readyText: string | null;
  publishRate: number | null;
  queueDepth: number | null;
  lastPublishAt: number | null;
  watcherBackend: string | null;
  watcherOverflows: number | null;
  unwatchedDirs: number | null;
  skipped: Record<string, number>;
  reconcile: ReconcileView;
  firstPublication: FirstPublicationView | null;
};

export type PageModel = {
  topic: string;
  at: number;
  kafka: { ok: boolean; error: string | null };
  records: number | null;
  replicas: ReplicaView[];
  producers: ProducerView[];
  /** Metrics URLs that never answered, so it is not known which service they are. */
  unreachable: { url: string; error: string }[];
  /** Metrics the page would show that no scraped producer exports (yet). */
  missingMetrics: string[];
};

/** One point of the last-hour plots. */
export type SeriesPoint = { at: number; lag: Record<string, number>; lagSeconds: Record<string, number> };

/** Metric names the page reads, in one place (the alert/dashboard test checks the same registries). */
export const PAGE_METRICS = {
  applierInfo: 'mirrorlog_applier_info',
  rebuilding: 'mirrorlog_applier_rebuilding',
  rebuildProgress: 'mirrorlog_applier_rebuild_progress_ratio',
  deadLetters: 'mirrorlog_applier_dead_letters_total',
  published: 'mirrorlog_producer_events_published_total',
  hintsQueued: 'mirrorlog_producer_hints_queued',
  pendingPublish: 'mirrorlog_producer_pending_publish',
  lastPublish: 'mirrorlog_producer_last_publish_timestamp_seconds',
  skipped: 'mirrorlog_producer_entries_skipped_total',
  reconcileRunning: 'mirrorlog_producer_reconcile_running',
  reconciles: 'mirrorlog_producer_reconciles_total',
  reconcileDuration: 'mirrorlog_producer_last_reconcile_duration_seconds',
  reconcileDifferences: 'mirrorlog_producer_reconcile_differences',
  reconcileEntries: 'mirrorlog_producer_reconcile_entries_scanned',
  // Shown as n/a when a producer does not export them (producers older than watcher backends and reconcile times).
  watcherBackend: 'mirrorlog_producer_watcher_backend',
  watcherOverflows: 'mirrorlog_producer_watcher_overflows_total',
  unwatchedDirs: 'mirrorlog_producer_watcher_unwatched_directories',
  lastReconcileAt: 'mirrorlog_producer_last_reconcile_timestamp_seconds',
  reconcileExpected: 'mirrorlog_producer_reconcile_entries_expected',
  reconcileEta: 'mirrorlog_producer_reconcile_eta_seconds',
  firstPublicationExpected: 'mirrorlog_producer_first_publication_entries_expected',
  firstPublicationPublished: 'mirrorlog_producer_first_publication_entries_published',
  firstPublicationEta: 'mirrorlog_producer_first_publication_eta_seconds',
} as const;

export const OPTIONAL_PRODUCER_METRICS: readonly string[] = [
  PAGE_METRICS.watcherBackend,
  PAGE_METRICS.watcherOverflows,
  PAGE_METRICS.unwatchedDirs,
  PAGE_METRICS.lastReconcileAt,
  PAGE_METRICS.reconcileExpected,
  PAGE_METRICS.reconcileEta,
  PAGE_METRICS.firstPublicationExpected,
  PAGE_METRICS.firstPublicationPublished,
  PAGE_METRICS.firstPublicationEta,
];
