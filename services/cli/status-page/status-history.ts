// The status page's memory: turns each tick's raw sample (Kafka offsets, the services'
// metrics) into what the page shows, using the last hour of samples for what one sample
// cannot tell: rates, how long the oldest unapplied record has waited, a rebuild's ETA,
// which dead-letter codes are the latest. Pure: time comes in the samples.
import { replicaStatus, type GroupSample } from '../status-report.ts';
import {
  OPTIONAL_PRODUCER_METRICS,
  type PageModel,
  type RawSample,
  type ReplicaView,
  type SeriesPoint,
} from './page-model.ts';
import { producerView } from './producer-view.ts';
import { replicaView, unseenReplica, withApplierMetrics, type Highs } from './replica-view.ts';
import { rememberEndpoint, type Endpoint } from './status-endpoints.ts';

export type HistoryOptions = { topic: string; windowMs: number; stallAfterMs: number };

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
    const endpoints = sample.scrapes.map((scrape) => ({
      scrape,
      endpoint: rememberEndpoint(this.endpoints, scrape, sample.at),
    }));
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
        replicas.set(group.replica, replicaView(this.highs, status, sample, offsets));
        groupsNow.set(group.replica, { at: sample.at, sample: group });
      }
      this.previousGroups = groupsNow;
    }
    for (const { scrape, endpoint } of endpoints) {
      if (endpoint.service !== 'applier' || endpoint.replica === undefined) continue;
      const view = replicas.get(endpoint.replica) ?? unseenReplica(endpoint.replica, sample);
      replicas.set(endpoint.replica, withApplierMetrics(view, scrape, endpoint, sample.at));
    }
    const producers = endpoints
      .filter(({ endpoint }) => endpoint.service === 'producer')
      .map(({ scrape, endpoint }) => producerView(scrape, endpoint, sample.at));
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

  private trim(at: number): void {
    const from = at - this.options.windowMs;
    // Keep one high-watermark sample older than the window: it bounds the lag of the oldest waiting record.
    while (this.highs.length > 1 && this.highs[1]!.at < from) this.highs.shift();
    while (this.points.length > 0 && this.points[0]!.at < from) this.points.shift();
  }
}
