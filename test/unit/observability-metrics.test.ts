// The alert rules, the Grafana dashboard and the status page name metrics as strings; this
// checks every one of them against what the services' registries really export, so a
// renamed or removed metric fails here instead of silently emptying a panel or an alert.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { createApplierMetrics } from '../../services/applier/metrics.ts';
import { OPTIONAL_PRODUCER_METRICS, PAGE_METRICS } from '../../services/cli/status-page/page-model.ts';
import { createProducerMetrics } from '../../services/producer/metrics.ts';
import { registerReadiness } from '../../services/shared/http-server.ts';
import { createMetricsRegistry } from '../../services/shared/metrics.ts';

const ALERTS = new URL('../../infra/prometheus/alerts.yaml', import.meta.url);
const DASHBOARD = new URL('../../infra/grafana/mirrorlog.json', import.meta.url);
/** Series Prometheus itself makes. */
const PROMETHEUS_SERIES = new Set(['up']);

async function exportedSeries(): Promise<Set<string>> {
  const producer = createMetricsRegistry('producer');
  createProducerMetrics(producer);
  registerReadiness(producer, () => ({ ready: true }));
  const applier = createMetricsRegistry('applier');
  createApplierMetrics(applier);
  const names = new Set<string>();
  for (const registry of [producer, applier]) {
    for (const metric of await registry.getMetricsAsJSON()) {
      names.add(metric.name);
      if (String(metric.type) === 'histogram')
        for (const suffix of ['_bucket', '_sum', '_count']) names.add(`${metric.name}${suffix}`);
    }
  }
  return names;
}

type Rule = { alert?: string; expr: string };

function alertRules(): Rule[] {
  const file = parse(readFileSync(ALERTS, 'utf8')) as { groups: { rules: Rule[] }[] };
  return file.groups.flatMap((group) => group.rules);
}

function dashboardExprs(): string[] {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { panels: { targets?: { expr: string }[] }[] };
  return dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr));
}

/** Metric names in a PromQL expression: identifiers that are not functions, keywords or label names. */
function metricNames(expr: string): string[] {
  const withoutStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').replace(/\{[^}]*\}/g, '{}');
  const withoutGroupings = withoutStrings.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, '');
  return [...withoutGroupings.matchAll(/\b([a-zA-Z_:][a-zA-Z0-9_:]*)\b(?!\s*\()/g)]
    .map((m) => m[1]!)
    .filter((name) => name.startsWith('mirrorlog_') || PROMETHEUS_SERIES.has(name));
}

describe('metrics named outside the code', () => {
  it('every metric an alert rule uses is exported', async () => {
    const exported = await exportedSeries();
    const rules = alertRules();
    assert.ok(rules.length >= 6);
    for (const rule of rules) {
      const names = metricNames(rule.expr);
      assert.ok(names.length > 0, `${rule.alert} uses no metric`);
      for (const name of names) {
        if (PROMETHEUS_SERIES.has(name)) continue;
        assert.ok(exported.has(name), `${rule.alert}: ${name} is not exported by any service`);
      }
    }
  });

  it('every metric the dashboard plots is exported', async () => {
    const exported = await exportedSeries();
    const exprs = dashboardExprs();
    assert.ok(exprs.length >= 15);
    for (const expr of exprs) {
      for (const name of metricNames(expr))
        assert.ok(exported.has(name), `dashboard: ${name} is not exported (${expr})`);
    }
  });

  it('every metric the status page reads is exported, those it shows as n/a for older producers too', async () => {
    const exported = await exportedSeries();
    assert.ok(OPTIONAL_PRODUCER_METRICS.length > 0);
    for (const name of Object.values(PAGE_METRICS))
      assert.ok(exported.has(name), `status page: ${name} is not exported`);
  });

  it('has the alerts operators expect', () => {
    const names = new Set(alertRules().map((rule) => rule.alert));
    for (const alert of [
      'MirrorlogReplicaLagHigh',
      'MirrorlogApplierStalled',
      'MirrorlogDeadLettersGrowing',
      'MirrorlogWatcherLosingEvents',
      'MirrorlogWatcherDirectoriesUnwatched',
      'MirrorlogProducerNotReady',
      'MirrorlogRebuildTakingLong',
    ]) {
      assert.ok(names.has(alert), `${alert} is missing from alerts.yaml`);
    }
  });

  it('finds metric names in PromQL, not functions, labels or keywords', () => {
    assert.deepEqual(
      metricNames(
        'sum by (instance, le) (rate(mirrorlog_a_bucket{x="mirrorlog_no"}[5m])) ' +
          '* on (instance) group_left (replica) mirrorlog_b and up == 0',
      ),
      ['mirrorlog_a_bucket', 'mirrorlog_b', 'up'],
    );
  });
});
