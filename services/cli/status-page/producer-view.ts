// A producer's row on the status page, from its last scrape and what is remembered of its
// endpoint (the publish rate needs the previous count). Pure: time comes in as `at`.
import { PAGE_METRICS as M, type FirstPublicationView, type ProducerView, type ScrapeResult } from './page-model.ts';
import { byLabel, select, total } from './prom-text.ts';
import type { Endpoint } from './status-endpoints.ts';

export function producerView(scrape: ScrapeResult, endpoint: Endpoint, at: number): ProducerView {
  const samples = scrape.samples;
  const published = samples === undefined ? undefined : total(samples, M.published);
  const before = endpoint.previous.get(M.published);
  let publishRate: number | null = null;
  if (published !== undefined) {
    if (before !== undefined && at > before.at)
      publishRate = Math.max(0, (published - before.value) / ((at - before.at) / 1000));
    endpoint.previous.set(M.published, { value: published, at });
  }
  const value = (name: string): number | null => (samples === undefined ? null : (total(samples, name) ?? null));
  const hints = value(M.hintsQueued);
  const pending = value(M.pendingPublish);
  const lastTrigger = [...endpoint.reconcileTriggers.entries()].sort((a, b) => b[1].at - a[1].at)[0]?.[0] ?? null;
  const lastAtMetric = value(M.lastReconcileAt);
  const lastPublish = value(M.lastPublish);
  const running = value(M.reconcileRunning);
  return {
    url: scrape.url,
    reachable: samples !== undefined,
    error: scrape.error ?? null,
    ready: scrape.ready?.ok ?? null,
    readyText: scrape.ready?.text ?? null,
    publishRate: publishRate === null ? null : Math.round(publishRate),
    queueDepth: hints === null && pending === null ? null : (hints ?? 0) + (pending ?? 0),
    lastPublishAt: lastPublish === null || lastPublish === 0 ? null : lastPublish * 1000,
    watcherBackend:
      samples === undefined
        ? null
        : (select(samples, M.watcherBackend).find((s) => s.value === 1)?.labels['backend'] ?? null),
    watcherOverflows: value(M.watcherOverflows),
    unwatchedDirs: value(M.unwatchedDirs),
    skipped: samples === undefined ? {} : (byLabel(samples, M.skipped, 'reason') ?? {}),
    reconcile: {
      running: running === null ? null : running === 1,
      finished: value(M.reconciles),
      lastTrigger,
      lastAt: lastAtMetric !== null && lastAtMetric > 0 ? lastAtMetric * 1000 : (endpoint.lastReconcileSeenAt ?? null),
      lastDurationSeconds: value(M.reconcileDuration),
      differences: value(M.reconcileDifferences),
      entriesScanned: value(M.reconcileEntries),
      expectedEntries: positive(value(M.reconcileExpected)),
      etaSeconds: finite(value(M.reconcileEta)),
    },
    firstPublication: firstPublicationView(value),
  };
}

/** A gauge read as "unknown" when NaN (the producer's "estimating") or absent. */
function finite(value: number | null): number | null {
  return value === null || !Number.isFinite(value) ? null : value;
}

function positive(value: number | null): number | null {
  return value === null || !(value > 0) ? null : value;
}

/** Running while the producer reports a first publication whose ETA is not 0 (done). */
function firstPublicationView(value: (name: string) => number | null): FirstPublicationView | null {
  const eta = value(M.firstPublicationEta);
  const published = value(M.firstPublicationPublished);
  if (eta === null || eta === 0 || published === null) return null;
  return { published, expected: positive(value(M.firstPublicationExpected)), etaSeconds: finite(eta) };
}
