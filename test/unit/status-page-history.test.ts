// The status page's core, fed with samples as Kafka and the services' /metrics would give
// them: lag in records and seconds, rates, states and their reasons, the producer's view.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CommitNote, GroupSample } from '../../services/cli/status-report.ts';
import type { RawSample, ScrapeResult } from '../../services/cli/status-page/page-model.ts';
import { parsePromText } from '../../services/cli/status-page/prom-text.ts';
import { StatusHistory } from '../../services/cli/status-page/status-history.ts';

const T0 = 1_800_000_000_000;

function group(replica: string, committed: number, appliedAt: number | undefined): GroupSample {
  return {
    replica,
    committed: new Map([[0, committed]]),
    notes: new Map<number, CommitNote>(appliedAt === undefined ? [] : [[0, { appliedAt }]]),
  };
}

function sample(
  at: number,
  high: number,
  groups: GroupSample[],
  scrapes: ScrapeResult[] = [],
  deadLetters = {},
): RawSample {
  return { at, kafka: { ok: true, offsets: [{ partition: 0, low: 0, high }], groups, deadLetters }, scrapes };
}

function scrape(url: string, text: string, ready = 'ready'): ScrapeResult {
  return { url, samples: parsePromText(text), ready: { ok: ready === 'ready', text: ready } };
}

const history = () => new StatusHistory({ topic: 't', windowMs: 3_600_000, stallAfterMs: 10_000 });

describe('parsePromText', () => {
  it('reads names, labels (escapes included) and values, and skips comments', () => {
    const samples = parsePromText(
      '# HELP x y\n# TYPE x counter\nx_total{reason="a\\"b",service="p"} 3\nplain 1.5\nbad{ 2\ninf +Inf\n',
    );
    assert.deepEqual(samples, [
      { name: 'x_total', labels: { reason: 'a"b', service: 'p' }, value: 3 },
      { name: 'plain', labels: {}, value: 1.5 },
      { name: 'inf', labels: {}, value: Number.POSITIVE_INFINITY },
    ]);
  });
});

describe('StatusHistory', () => {
  it('shows each replica with its lag in records and in seconds, and its apply rate', () => {
    const h = history();
    h.add(sample(T0, 10, [group('a', 10, T0), group('b', 10, T0)]));
    h.add(sample(T0 + 1000, 30, [group('a', 30, T0 + 1000), group('b', 10, T0)]));
    const { model, point } = h.add(sample(T0 + 4000, 30, [group('a', 30, T0 + 1000), group('b', 12, T0 + 4000)]));
    assert.deepEqual(
      model.replicas.map((r) => [r.replica, r.state, r.lag]),
      [
        ['a', 'live', 0],
        ['b', 'live', 18],
      ],
    );
    const b = model.replicas[1]!;
    // Records beyond offset 12 were appended after T0 (high 10) and by T0+1000 (high 30): waiting for 3 s.
    assert.equal(b.lagSeconds, 3);
    assert.equal(b.lagSecondsAtLeast, false);
    assert.equal(b.applyRate, 1); // 2 records in 3 s, rounded
    assert.deepEqual(point.lag, { a: 0, b: 18 });
    assert.deepEqual(point.lagSeconds, { a: 0, b: 3 });
    assert.equal(h.series().length, 3);
  });

  it('marks the lag in seconds as a lower bound when the waiting record is older than its history', () => {
    const { model } = history().add(sample(T0, 50, [group('a', 20, T0 - 1000)]));
    assert.equal(model.replicas[0]!.lagSecondsAtLeast, true);
  });

  it('turns a replica that is behind and commits nothing for --stall-after stalled, saying why', () => {
    const h = history();
    h.add(sample(T0, 10, [group('a', 5, T0)]));
    const early = h.add(sample(T0 + 5000, 12, [group('a', 5, T0)])).model.replicas[0]!;
    assert.equal(early.state, 'live');
    const late = h.add(
      sample(T0 + 12_000, 12, [group('a', 5, T0)], [{ url: 'http://a/metrics', error: 'ECONNREFUSED' }]),
    );
    const r = late.model.replicas[0]!;
    assert.equal(r.state, 'stalled');
    assert.match(r.reason ?? '', /nothing applied for 12s with 7 records to apply/);
    // An endpoint never seen answering is listed apart: it is not known whose it is.
    assert.deepEqual(late.model.unreachable, [{ url: 'http://a/metrics', error: 'ECONNREFUSED' }]);
  });

  it('shows a rebuild with its progress and an ETA from the progress rate', () => {
    const h = history();
    const metrics = (ratio: number) =>
      scrape(
        'http://a/metrics',
        `mirrorlog_applier_info{replica="a",topic="t",service="applier"} 1\n` +
          `mirrorlog_applier_rebuilding{service="applier"} 1\n` +
          `mirrorlog_applier_rebuild_progress_ratio{service="applier"} ${ratio}\n`,
        'not ready: rebuilding',
      );
    h.add(sample(T0, 100, [group('a', 20, T0)], [metrics(0.2)]));
    const { model } = h.add(sample(T0 + 10_000, 100, [group('a', 40, T0 + 10_000)], [metrics(0.4)]));
    const r = model.replicas[0]!;
    assert.equal(r.state, 'rebuilding');
    assert.deepEqual(r.rebuild, { progress: 0.4, etaSeconds: 30 });
    assert.equal(r.metricsUrl, 'http://a/metrics');
  });

  it('shows an applier that says it cannot apply as stalled, and its latest dead-letter codes', () => {
    const h = history();
    const metrics = (invalid: number, unsafe: number) =>
      scrape(
        'http://a/metrics',
        `mirrorlog_applier_info{replica="a",topic="t",service="applier"} 1\n` +
          `mirrorlog_applier_dead_letters_total{reason="invalid-key",service="applier"} ${invalid}\n` +
          `mirrorlog_applier_dead_letters_total{reason="unsafe-path",service="applier"} ${unsafe}\n`,
        'not ready: cannot apply: ENOSPC on /backup',
      );
    h.add(sample(T0, 10, [group('a', 10, T0)], [metrics(1, 0)], { a: 1 }));
    const { model } = h.add(sample(T0 + 1000, 10, [group('a', 10, T0)], [metrics(1, 2)], { a: 3 }));
    const r = model.replicas[0]!;
    assert.equal(r.state, 'stalled');
    assert.equal(r.reason, 'ENOSPC on /backup');
    assert.deepEqual(r.deadLetters, { count: 3, latestCodes: ['unsafe-path', 'invalid-key'] });
  });

  it("shows the producer's rates and findings, and n/a (listed) for metrics it does not export", () => {
    const h = history();
    const producer = (published: number, extra = '') =>
      scrape(
        'http://p/metrics',
        `mirrorlog_producer_events_published_total{op="file",service="producer"} ${published}\n` +
          'mirrorlog_producer_hints_queued{service="producer"} 4\n' +
          'mirrorlog_producer_pending_publish{service="producer"} 3\n' +
          'mirrorlog_producer_entries_skipped_total{reason="special-file",service="producer"} 2\n' +
          `mirrorlog_producer_reconciles_total{trigger="start",service="producer"} 1\n` +
          'mirrorlog_producer_reconcile_differences{service="producer"} 5\n' +
          extra,
      );
    h.add(sample(T0, 0, [], [producer(100)]));
    const { model } = h.add(sample(T0 + 2000, 0, [], [producer(300)]));
    const p = model.producers[0]!;
    assert.equal(p.publishRate, 100);
    assert.equal(p.queueDepth, 7);
    assert.deepEqual(p.skipped, { 'special-file': 2 });
    assert.equal(p.reconcile.lastTrigger, 'start');
    assert.equal(p.reconcile.differences, 5);
    assert.equal(p.watcherBackend, null);
    assert.equal(p.watcherOverflows, null);
    assert.ok(model.missingMetrics.includes('mirrorlog_producer_watcher_overflows_total'));

    const withWatcher = history().add(
      sample(
        T0,
        0,
        [],
        [
          producer(
            1,
            'mirrorlog_producer_watcher_backend{backend="fanotify",service="producer"} 1\n' +
              'mirrorlog_producer_watcher_overflows_total{service="producer"} 2\n',
          ),
        ],
      ),
    ).model;
    assert.equal(withWatcher.producers[0]!.watcherBackend, 'fanotify');
    assert.equal(withWatcher.producers[0]!.watcherOverflows, 2);
    assert.ok(!withWatcher.missingMetrics.includes('mirrorlog_producer_watcher_overflows_total'));
  });

  it("shows a first publication's and a running reconcile's progress: estimating (NaN) until there is a basis", () => {
    const producer = (extra: string) =>
      history().add(
        sample(
          T0,
          0,
          [],
          [scrape('http://p/metrics', 'mirrorlog_producer_events_published_total{service="producer"} 9\n' + extra)],
        ),
      ).model.producers[0]!;
    const counting = producer(
      'mirrorlog_producer_first_publication_entries_expected 0\n' +
        'mirrorlog_producer_first_publication_entries_published 120\n' +
        'mirrorlog_producer_first_publication_eta_seconds NaN\n',
    );
    assert.deepEqual(counting.firstPublication, { published: 120, expected: null, etaSeconds: null });
    const counted = producer(
      'mirrorlog_producer_first_publication_entries_expected 5000\n' +
        'mirrorlog_producer_first_publication_entries_published 1200\n' +
        'mirrorlog_producer_first_publication_eta_seconds 95\n',
    );
    assert.deepEqual(counted.firstPublication, { published: 1200, expected: 5000, etaSeconds: 95 });
    const done = producer(
      'mirrorlog_producer_first_publication_entries_published 5000\n' +
        'mirrorlog_producer_first_publication_eta_seconds 0\n',
    );
    assert.equal(done.firstPublication, null, 'no row once done (or for a tree published before)');

    const walking = producer(
      'mirrorlog_producer_reconcile_running 1\n' +
        'mirrorlog_producer_reconcile_entries_scanned 300\n' +
        'mirrorlog_producer_reconcile_entries_expected 900\n' +
        'mirrorlog_producer_reconcile_eta_seconds 40\n',
    );
    assert.deepEqual(
      [walking.reconcile.running, walking.reconcile.expectedEntries, walking.reconcile.etaSeconds],
      [true, 900, 40],
    );
    const estimating = producer(
      'mirrorlog_producer_reconcile_running 1\nmirrorlog_producer_reconcile_entries_expected 0\n' +
        'mirrorlog_producer_reconcile_eta_seconds NaN\n',
    );
    assert.deepEqual([estimating.reconcile.expectedEntries, estimating.reconcile.etaSeconds], [null, null]);
  });

  it('keeps one hour of plot points', () => {
    const h = history();
    for (let minute = 0; minute <= 90; minute += 10) h.add(sample(T0 + minute * 60_000, 1, [group('a', 1, T0)]));
    const series = h.series();
    assert.equal(series[0]!.at, T0 + 30 * 60_000);
    assert.equal(series.length, 7);
  });

  it('says when Kafka cannot be read, and goes on', () => {
    const { model } = history().add({ at: T0, kafka: { ok: false, error: 'cannot read Kafka' }, scrapes: [] });
    assert.deepEqual(model.kafka, { ok: false, error: 'cannot read Kafka' });
    assert.equal(model.records, null);
  });
});
