// The end of a run: the JSON document and the one table printed.
import type { MachineInfo } from './machine.ts';
import type { BenchResults, PullJobResult, StageError } from './results.ts';
import { round } from './stats.ts';

export interface ReportContext {
  files: number;
  cores: number;
  machine: MachineInfo;
  timestamp: string;
  errors: readonly StageError[];
}

const s = (ms: number | undefined): number | null => (ms === undefined ? null : round(ms / 1000, 3));
const ms = (value: number | undefined): number | null => (value === undefined ? null : round(value, 1));
const ratio = (a: number | undefined, b: number | undefined): number | null =>
  a === undefined || b === undefined || b === 0 ? null : round(a / b, 3);
const mb = (value: number | undefined): number | null => (value === undefined ? null : round(value, 1));

const pullRate = (p: PullJobResult | undefined): number | null =>
  p === undefined ? null : round(p.files / (p.ms / 1000), 0);

const pullDetail = (p: PullJobResult | undefined): string =>
  p === undefined ? '' : ` (${p.files.toLocaleString('en-US')}, ${p.viaStore.toLocaleString('en-US')} via the store)`;

export type BenchJson = Record<string, unknown>;

/**
 * The JSON document: the issue's fields (null when not measured), lsyncd_* when measured,
 * `errors` when a stage failed.
 */
export function buildJson(r: BenchResults, ctx: ReportContext): BenchJson {
  const json: BenchJson = {
    latency_p50_ms: ms(r.latency?.p50),
    latency_p95_ms: ms(r.latency?.p95),
    latency_p99_ms: ms(r.latency?.p99),
    load_latency_p50_ms: ms(r.loadLatency?.p50),
    load_latency_p99_ms: ms(r.loadLatency?.p99),
    burst_files_per_s: r.burst === undefined ? null : round(r.burst.files / (r.burst.ms / 1000), 0),
    pull_job_files_per_s: pullRate(r.pullJob),
    pull_job_files: r.pullJob?.files ?? null,
    pull_job_via_store: r.pullJob?.viaStore ?? null,
    bootstrap_s: s(r.bootstrapMs),
    rsync_initial_s: s(r.rsyncInitialMs),
    bootstrap_ratio: ratio(r.bootstrapMs, r.rsyncInitialMs),
    reconcile_s: s(r.reconcileMs),
    rsync_nochange_s: s(r.rsyncNoChangeMs),
    reconcile_ratio: ratio(r.reconcileMs, r.rsyncNoChangeMs),
    reconcile_again_s: s(r.reconcileAgainMs),
    reconcile_again_ratio: ratio(r.reconcileAgainMs, r.rsyncNoChangeMs),
    find_walk_s: s(r.findWalkMs),
    producer_rss_mb: mb(r.producerRssMb),
    applier_rss_mb: mb(r.applierRssMb),
    files: ctx.files,
    cores: ctx.cores,
  };
  const l = r.lsyncd;
  if (l !== undefined) {
    if (l.startupMs !== undefined) json.lsyncd_startup_s = s(l.startupMs);
    if (l.latency !== undefined) {
      json.lsyncd_latency_p50_ms = ms(l.latency.p50);
      json.lsyncd_latency_p99_ms = ms(l.latency.p99);
    }
    if (l.burstMs !== undefined && l.burstFiles !== undefined) {
      json.lsyncd_burst_s = s(l.burstMs);
      json.lsyncd_burst_files_per_s = round(l.burstFiles / (l.burstMs / 1000), 0);
    }
    if (l.pullJob !== undefined) json.lsyncd_pull_job_files_per_s = pullRate(l.pullJob);
  }
  json.machine = ctx.machine;
  json.timestamp = ctx.timestamp;
  if (ctx.errors.length > 0) json.errors = ctx.errors;
  return json;
}

/** Left-aligned columns separated by two spaces, with a rule under the header. */
export function renderTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  const line = (row: readonly string[]): string =>
    row
      .map((cell, i) => cell + ' '.repeat((widths[i] ?? 0) - [...cell].length))
      .join('  ')
      .trimEnd();
  const [header, ...body] = rows;
  if (header === undefined) return '';
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

const primitiveOrJson = (value: unknown): string =>
  typeof value === 'string' || typeof value === 'boolean' || typeof value === 'bigint'
    ? String(value)
    : JSON.stringify(value);

const n = (value: unknown, unit = ''): string =>
  value === null || value === undefined
    ? '—'
    : `${typeof value === 'number' ? value.toLocaleString('en-US') : primitiveOrJson(value)}${unit}`;

/** The table printed at the end of a run (from the JSON, so both always agree). */
export function renderReport(json: BenchJson, r: BenchResults): string {
  const j = (key: string): unknown => json[key];
  const rows: string[][] = [
    ['figure', 'mirrorlog', 'baseline', 'ratio', 'target (issue 8)'],
    [
      'latency p50 / p95 / p99',
      `${n(j('latency_p50_ms'))} / ${n(j('latency_p95_ms'))} / ${n(j('latency_p99_ms'))} ms`,
      '',
      '',
      'p50 ≤ 25 ms, p99 ≤ 100 ms',
    ],
    [
      'latency under load p50 / p99',
      `${n(j('load_latency_p50_ms'))} / ${n(j('load_latency_p99_ms'))} ms`,
      '',
      '',
      'p99 ≤ 1,000 ms',
    ],
    [
      'burst',
      `${n(j('burst_files_per_s'))} files/s` +
        `${r.burst ? ` (${r.burst.files.toLocaleString('en-US')} in ${(r.burst.ms / 1000).toFixed(2)} s)` : ''}`,
      '',
      '',
      '≥ 5,000 files/s',
    ],
    [
      'pull job (new dated directories, a directory moved in)',
      `${n(j('pull_job_files_per_s'))} files/s${pullDetail(r.pullJob)}`,
      r.lsyncd?.pullJob === undefined ? '' : `lsyncd: ${n(j('lsyncd_pull_job_files_per_s'))} files/s`,
      '',
      '',
    ],
    [
      'bootstrap (new replica)',
      n(j('bootstrap_s'), ' s'),
      `rsync -a: ${n(j('rsync_initial_s'), ' s')}`,
      n(j('bootstrap_ratio')),
      '≤ 1.0',
    ],
    [
      'restart (reconcile, no change)',
      n(j('reconcile_s'), ' s'),
      `rsync -a --delete: ${n(j('rsync_nochange_s'), ' s')}`,
      n(j('reconcile_ratio')),
      '≤ 0.8',
    ],
    [
      'restart again (no change since the first)',
      n(j('reconcile_again_s'), ' s'),
      '',
      n(j('reconcile_again_ratio')),
      '≤ 0.8',
    ],
    ['find -type f walk (floor)', '', n(j('find_walk_s'), ' s'), '', ''],
    ['producer peak RSS', n(j('producer_rss_mb'), ' MB'), '', '', '≤ 400 MB at 1M files'],
    ['applier peak RSS', n(j('applier_rss_mb'), ' MB'), '', '', ''],
  ];
  if (r.initialPublishMs !== undefined)
    rows.push(['(first start: publish the tree)', `${(r.initialPublishMs / 1000).toFixed(2)} s`, '', '', '']);
  if (r.producerCpuS !== undefined || r.applierCpuS !== undefined)
    rows.push([
      '(CPU used: producer / applier)',
      `${r.producerCpuS?.toFixed(1) ?? '—'} / ${r.applierCpuS?.toFixed(1) ?? '—'} s`,
      '',
      '',
      '',
    ]);
  if (r.lsyncd !== undefined) {
    rows.push([
      'lsyncd (delay = 1) latency p50 / p99',
      '',
      `${n(j('lsyncd_latency_p50_ms'))} / ${n(j('lsyncd_latency_p99_ms'))} ms`,
      '',
      '',
    ]);
    rows.push([
      'lsyncd burst',
      '',
      `${n(j('lsyncd_burst_files_per_s'))} files/s (${n(j('lsyncd_burst_s'), ' s')})`,
      '',
      '',
    ]);
    rows.push(['lsyncd startup (initial rsync)', '', n(j('lsyncd_startup_s'), ' s'), '', '']);
  }
  return renderTable(rows);
}
