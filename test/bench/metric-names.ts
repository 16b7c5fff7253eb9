// The services' Prometheus metrics the benchmark reads (services/*/metrics.ts).

/** Events the producer published, by op (a labelled counter: absent until the first one). */
export const PUBLISHED_METRIC = 'mirrorlog_producer_events_published_total';
/** Events the applier handled (applied, skipped or dead-lettered). */
export const APPLIED_METRIC = 'mirrorlog_applier_events_total';
/** Records not applied yet, summed over partitions. */
export const LAG_METRIC = 'mirrorlog_applier_lag_records';
