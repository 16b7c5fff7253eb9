// The status page's memory: turns each tick's raw sample (Kafka offsets, the services'
// metrics) into what the page shows, using the last hour of samples for what one sample
// cannot tell: rates, how long the oldest unapplied record has waited, a rebuild's ETA,
// which dead-letter codes are the latest. Pure: time comes in the samples.
import { replicaStatus, type GroupSample, type ReplicaStatus } from '../status-report.ts';
import {
  type FirstPublicationView,
  OPTIONAL_PRODUCER_METRICS,
  PAGE_METRICS as M,
  type PageModel,
  type ProducerView,
  type RawSample,
  type ReplicaView,
  type ScrapeResult,
  type SeriesPoint,
} from './page-model.ts';
import { byLabel, select, total, type PromSample } from './prom-text.ts';

export type HistoryOptions = { topic: string; windowMs: number; stallAfterMs: number };

type Highs = { at: number; highs: Map<number, number> };
type Counter = { value: number; at: number };

/** What one metrics URL was last seen to be, so a port that stops answering keeps its name. */
type Endpoint = {
  service: string | undefined;
  replica: string | undefined;
  previous: Map<string, Counter>;
  progress: { at: number; ratio: number }[];
  /** When each dead-letter code's count last grew. */
  codesSeenAt: Map<string, Counter>;
  reconcileTriggers: Map<string, Counter>;
  lastReconcileSeenAt: number | undefined;
};

const ETA_WINDOW_MS = 60_000;

function seconds(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : `${Math.round(s / 3600)}h`;
}

export class StatusHistory {
  private readonly highs: Highs[] = [];
  private readonly points: SeriesPoint[] = [];
  private readonly endpoints = new Map<string, Endpoint>();
  private previousGroups = new Map<string, { at: number; sample: GroupSample }>();

  constructor(private readonly options: HistoryOptions) {}

  /** The last hour of plot points, oldest first. */
  series(): SeriesPoint[] {
    return [...this.points];
  }

  add(sample: RawSample): { model: PageModel; point: SeriesPoint } {
    const endpoints = sample.scrapes.map((scrape) => ({ scrape, endpoint: this.remember(scrape, sample.at) }));
    const replicas = new Map<string, ReplicaView>();
    let records: number | null = null;
    if (sample.kafka.ok) {
      const { offsets, groups } = sample.kafka;
      records = offsets.reduce((sum, o) => sum + o.high - o.low, 0);
      this.highs.push({ at: sample.at, highs: new Map(offsets.map((o) => [o.partition, o.high])) });
      const groupsNow = new Map<string, { at: number; sample: GroupSample }>();
      for (const group of groups) {
        // A group that never committed on this topic belongs to another topic.
        if (![...group.committed.values()].some((offset) => offset >= 0)) continue;
        const before = this.previousGroups.get(group.replica);
        const span = before === undefined ? 0 : (sample.at - before.at) / 1000;
        const status = replicaStatus(
          [...offsets],
          before?.sample ?? group,
          group,
          span,
          sample.at,
          this.options.stallAfterMs,
        );
        replicas.set(group.replica, this.replicaView(status, sample, offsets));
        groupsNow.set(group.replica, { at: sample.at, sample: group });
      }
      this.previousGroups = groupsNow;
    }
    for (const { scrape, endpoint } of endpoints) {
      if (endpoint.service !== 'applier' || endpoint.replica === undefined) continue;
      const view = replicas.get(endpoint.replica) ?? this.unseenReplica(endpoint.replica, sample);
      replicas.set(endpoint.replica, this.withApplierMetrics(view, scrape, endpoint, sample.at));
    }
    const producers = endpoints
      .filter(({ endpoint }) => endpoint.service === 'producer')
      .map(({ scrape, endpoint }) => this.producerView(scrape, endpoint, sample.at));
    this.trim(sample.at);
    const sorted = [...replicas.values()].sort((a, b) => a.replica.localeCompare(b.replica));
    const point: SeriesPoint = {
      at: sample.at,
      lag: Object.fromEntries(sorted.map((r) => [r.replica, r.lag])),
      lagSeconds: Object.fromEntries(sorted.map((r) => [r.replica, r.lagSeconds])),
    };
    this.points.push(point);
    const exported = new Set(endpoints.flatMap(({ scrape }) => (scrape.samples ?? []).map((s) => s.name)));
    const anyProducer = producers.some((p) => p.reachable);
    return {
      model: {
        topic: this.options.topic,
        at: sample.at,
        kafka: sample.kafka.ok ? { ok: true, error: null } : { ok: false, error: sample.kafka.error },
        records,
        replicas: sorted,
        producers,
        unreachable: endpoints
          .filter(({ endpoint }) => endpoint.service === undefined)
          .map(({ scrape }) => ({ url: scrape.url, error: scrape.error ?? 'no service label in its metrics' })),
        missingMetrics: anyProducer ? OPTIONAL_PRODUCER_METRICS.filter((name) => !exported.has(name)) : [],
      },
      point,
    };
  }

  private remember(scrape: ScrapeResult, at: number): Endpoint {
    let endpoint = this.endpoints.get(scrape.url);
    if (endpoint === undefined) {
      endpoint = {
        service: undefined,
        replica: undefined,
        previous: new Map(),
        progress: [],
        codesSeenAt: new Map(),
        reconcileTriggers: new Map(),
        lastReconcileSeenAt: undefined,
      };
      this.endpoints.set(scrape.url, endpoint);
    }
    if (scrape.samples !== undefined) {
      const samples = scrape.samples;
      endpoint.service = samples.find((s) => s.labels['service'] !== undefined)?.labels['service'] ?? endpoint.service;
      endpoint.replica = select(samples, M.applierInfo)[0]?.labels['replica'] ?? endpoint.replica;
      this.trackCodes(endpoint, samples, at);
    }
    return endpoint;
  }

  private trackCodes(endpoint: Endpoint, samples: readonly PromSample[], at: number): void {
    for (const [code, value] of Object.entries(byLabel(samples, M.deadLetters, 'reason') ?? {})) {
      const seen = endpoint.codesSeenAt.get(code);
      if (value > 0 && (seen === undefined || value > seen.value)) endpoint.codesSeenAt.set(code, { value, at });
    }
    for (const [trigger, value] of Object.entries(byLabel(samples, M.reconciles, 'trigger') ?? {})) {
      const seen = endpoint.reconcileTriggers.get(trigger);
      if (value > 0 && (seen === undefined || value > seen.value)) {
        endpoint.reconcileTriggers.set(trigger, { value, at });
        endpoint.lastReconcileSeenAt = at;
      }
    }
  }

  /** How long the oldest record this replica has not applied has waited, from the history of high watermarks. */
  private lagSeconds(
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
      const index = this.highs.findIndex((h) => (h.highs.get(partition) ?? 0) > committed);
      if (index <= 0) atLeast = true;
      const since = this.highs[Math.max(0, index)]?.at ?? at;
      oldest = Math.min(oldest, since);
    }
    return { lagSeconds: Math.max(0, (at - oldest) / 1000), atLeast };
  }

  private replicaView(
    status: ReplicaStatus,
    sample: RawSample,
    offsets: readonly { partition: number; high: number }[],
  ): ReplicaView {
    const { lagSeconds, atLeast } = this.lagSeconds(status.lagByPartition, offsets, sample.at);
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

  private unseenReplica(replica: string, sample: RawSample): ReplicaView {
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

  private withApplierMetrics(view: ReplicaView, scrape: ScrapeResult, endpoint: Endpoint, at: number): ReplicaView {
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

  private producerView(scrape: ScrapeResult, endpoint: Endpoint, at: number): ProducerView {
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
        lastAt:
          lastAtMetric !== null && lastAtMetric > 0 ? lastAtMetric * 1000 : (endpoint.lastReconcileSeenAt ?? null),
        lastDurationSeconds: value(M.reconcileDuration),
        differences: value(M.reconcileDifferences),
        entriesScanned: value(M.reconcileEntries),
        expectedEntries: positive(value(M.reconcileExpected)),
        etaSeconds: finite(value(M.reconcileEta)),
      },
      firstPublication: firstPublicationView(value),
    };
  }

  private trim(at: number): void {
    const from = at - this.options.windowMs;
    // Keep one high-watermark sample older than the window: it bounds the lag of the oldest waiting record.
    while (this.highs.length > 1 && this.highs[1]!.at < from) this.highs.shift();
    while (this.points.length > 0 && this.points[0]!.at < from) this.points.shift();
  }
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
