// A replica's row on the status page: its lag (in records, and in seconds from the history
// of high watermarks), whether it is stalled or rebuilding (with an ETA), and its dead
// letters' latest codes. Pure: time comes in the samples.
import type { ReplicaStatus } from '../status-report.ts';
import { PAGE_METRICS as M, type RawSample, type ReplicaView, type ScrapeResult } from './page-model.ts';
import { total } from './prom-text.ts';
import type { Endpoint } from './status-endpoints.ts';

/** The topic's high watermark per partition at one sample. */
export type Highs = { at: number; highs: Map<number, number> };

const ETA_WINDOW_MS = 60_000;

function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

/** How long the oldest record this replica has not applied has waited, from the history of high watermarks. */
function waitedSeconds(
  highs: readonly Highs[],
  lagByPartition: Record<number, number>,
  offsets: readonly { partition: number; high: number }[],
  at: number,
) {
  let oldest = at;
  let atLeast = false;
  for (const { partition, high } of offsets) {
    const lag = lagByPartition[partition] ?? 0;
    if (lag <= 0) continue;
    const committed = high - lag;
    // The record at `committed` was appended after the last sample whose high watermark was at or below it.
    const index = highs.findIndex((h) => (h.highs.get(partition) ?? 0) > committed);
    if (index <= 0) atLeast = true;
    const since = highs[Math.max(0, index)]?.at ?? at;
    oldest = Math.min(oldest, since);
  }
  return { lagSeconds: Math.max(0, (at - oldest) / 1000), atLeast };
}

export function replicaView(
  highs: readonly Highs[],
  status: ReplicaStatus,
  sample: RawSample,
  offsets: readonly { partition: number; high: number }[],
): ReplicaView {
  const { lagSeconds, atLeast } = waitedSeconds(highs, status.lagByPartition, offsets, sample.at);
  const idle =
    status.lastAppliedAt === undefined
      ? 'never applied anything'
      : `nothing applied for ${seconds(sample.at - status.lastAppliedAt)}`;
  return {
    replica: status.replica,
    state: status.stalled ? 'stalled' : 'live',
    reason: status.stalled ? `${idle} with ${status.lag} records to apply` : null,
    lag: status.lag,
    lagSeconds,
    lagSecondsAtLeast: atLeast,
    applyRate: status.eventsPerSecond,
    lastAppliedAt: status.lastAppliedAt ?? null,
    rebuild: null,
    deadLetters: { count: sample.kafka.ok ? (sample.kafka.deadLetters[status.replica] ?? 0) : 0, latestCodes: [] },
    metricsUrl: null,
    metricsError: null,
  };
}

export function unseenReplica(replica: string, sample: RawSample): ReplicaView {
  return {
    replica,
    state: 'live',
    reason: null,
    lag: 0,
    lagSeconds: 0,
    lagSecondsAtLeast: false,
    applyRate: 0,
    lastAppliedAt: null,
    rebuild: null,
    deadLetters: { count: sample.kafka.ok ? (sample.kafka.deadLetters[replica] ?? 0) : 0, latestCodes: [] },
    metricsUrl: null,
    metricsError: null,
  };
}

export function withApplierMetrics(
  view: ReplicaView,
  scrape: ScrapeResult,
  endpoint: Endpoint,
  at: number,
): ReplicaView {
  const latestCodes = [...endpoint.codesSeenAt.entries()]
    .sort((a, b) => b[1].at - a[1].at || a[0].localeCompare(b[0]))
    .slice(0, 3)
    .map(([code]) => code);
  const next: ReplicaView = { ...view, metricsUrl: scrape.url, deadLetters: { ...view.deadLetters, latestCodes } };
  if (scrape.samples === undefined) {
    next.metricsError = scrape.error ?? 'no answer';
    if (next.state === 'stalled') next.reason = `${next.reason ?? ''}; its metrics port does not answer`;
    return next;
  }
  const rebuilding = total(scrape.samples, M.rebuilding) === 1;
  if (rebuilding) {
    const ratio = total(scrape.samples, M.rebuildProgress) ?? 0;
    endpoint.progress.push({ at, ratio });
    while (endpoint.progress.length > 1 && endpoint.progress[0]!.at < at - ETA_WINDOW_MS) endpoint.progress.shift();
    const first = endpoint.progress[0]!;
    const rate = at > first.at ? (ratio - first.ratio) / ((at - first.at) / 1000) : 0;
    next.rebuild = { progress: ratio, etaSeconds: rate > 0 ? Math.round((1 - ratio) / rate) : null };
    if (next.state !== 'stalled') {
      next.state = 'rebuilding';
      next.reason = `replaying the log: ${(ratio * 100).toFixed(1)}%`;
    }
  } else {
    endpoint.progress.length = 0;
  }
  // The applier knows first when it cannot apply (its /readyz says why).
  const readyText = scrape.ready?.text ?? '';
  const cannot = /cannot apply: (.*)/.exec(readyText)?.[1];
  if (cannot !== undefined) {
    next.state = 'stalled';
    next.reason = cannot;
  }
  return next;
}
