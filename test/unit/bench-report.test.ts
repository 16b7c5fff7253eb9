import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseBenchArgs, UsageError } from '../bench/args.ts';
import { parseMetrics } from '../bench/http-probe.ts';
import type { MachineInfo } from '../bench/machine.ts';
import { buildJson, renderReport, renderTable } from '../bench/report.ts';
import { parseStat, parseStatusMemory } from '../bench/rss-sampler.ts';
import { summarize } from '../bench/stats.ts';

const machine: MachineInfo = {
  description: '2 cores',
  cpu_model: 'cpu',
  cores: 2,
  memory_gib: 23.5,
  os: 'Debian',
  kernel: '6.1',
  node: 'v20',
  work_fs: 'ext4 on /dev/vda',
  load_at_start: 0.5,
  file_create_us: 30,
};
const ctx = { files: 20_000, cores: 2, machine, timestamp: '2026-01-01T00:00:00.000Z', errors: [] };

const ISSUE_FIELDS = [
  'latency_p50_ms',
  'latency_p95_ms',
  'latency_p99_ms',
  'load_latency_p50_ms',
  'load_latency_p99_ms',
  'burst_files_per_s',
  'pull_job_files_per_s',
  'pull_job_files',
  'pull_job_via_store',
  'bootstrap_s',
  'rsync_initial_s',
  'bootstrap_ratio',
  'reconcile_s',
  'rsync_nochange_s',
  'reconcile_ratio',
  'reconcile_again_s',
  'reconcile_again_ratio',
  'find_walk_s',
  'producer_rss_mb',
  'applier_rss_mb',
  'files',
  'cores',
  'machine',
  'timestamp',
];

test('the JSON has exactly the issue fields, with ratios and units computed', () => {
  const json = buildJson(
    {
      latency: summarize([10, 20, 30]),
      loadLatency: summarize([100, 300]),
      burst: { files: 10_000, ms: 2000, writeMs: 900 },
      pullJob: { files: 11_000, bytes: 600e6, viaStore: 6_000, ms: 4_000, writeMs: 3_000 },
      bootstrapMs: 12_000,
      rsyncInitialMs: 10_000,
      reconcileMs: 2_500,
      reconcileAgainMs: 2_000,
      rsyncNoChangeMs: 5_000,
      findWalkMs: 400,
      producerRssMb: 210.44,
      applierRssMb: 150,
    },
    ctx,
  );
  assert.deepEqual(Object.keys(json), ISSUE_FIELDS);
  assert.equal(json.latency_p50_ms, 20);
  assert.equal(json.load_latency_p99_ms, 300);
  assert.equal(json.burst_files_per_s, 5000);
  assert.equal(json.pull_job_files_per_s, 2750);
  assert.equal(json.pull_job_via_store, 6_000);
  assert.equal(json.bootstrap_s, 12);
  assert.equal(json.bootstrap_ratio, 1.2);
  assert.equal(json.reconcile_ratio, 0.5);
  assert.equal(json.reconcile_again_ratio, 0.4);
  assert.equal(json.find_walk_s, 0.4);
  assert.equal(json.producer_rss_mb, 210.4);
  assert.equal(json.files, 20_000);
});

test('unmeasured figures are null; lsyncd fields appear only when measured; errors only on failure', () => {
  const empty = buildJson({}, ctx);
  assert.deepEqual(Object.keys(empty), ISSUE_FIELDS);
  assert.equal(empty.bootstrap_ratio, null);
  const withLsyncd = buildJson(
    {
      lsyncd: {
        startupMs: 5000,
        latency: summarize([1000, 1100]),
        burstMs: 20_000,
        burstFiles: 10_000,
        pullJob: { files: 1_200, bytes: 1e6, viaStore: 10, ms: 3_000, writeMs: 1_000 },
      },
    },
    { ...ctx, errors: [{ stage: 'burst', message: 'x' }] },
  );
  assert.equal(withLsyncd.lsyncd_pull_job_files_per_s, 400);
  assert.equal(empty.lsyncd_pull_job_files_per_s, undefined);
  assert.equal(withLsyncd.lsyncd_latency_p50_ms, 1000);
  assert.equal(withLsyncd.lsyncd_burst_files_per_s, 500);
  assert.equal(withLsyncd.lsyncd_startup_s, 5);
  assert.deepEqual(withLsyncd.errors, [{ stage: 'burst', message: 'x' }]);
});

test('renderTable pads columns and rules the header', () => {
  assert.equal(
    renderTable([
      ['a', 'bb'],
      ['ccc', 'd'],
    ]),
    'a    bb\n---  --\nccc  d',
  );
  const report = renderReport(buildJson({ bootstrapMs: 1000, rsyncInitialMs: 2000 }, ctx), {});
  assert.match(report, /bootstrap \(new replica\)\s+1 s\s+rsync -a: 2 s\s+0\.5/);
});

test('parseMetrics sums a metric over its label sets and skips comments and NaN', () => {
  const text = [
    '# HELP mirrorlog_producer_events_published_total events',
    '# TYPE mirrorlog_producer_events_published_total counter',
    'mirrorlog_producer_events_published_total{op="file",service="producer"} 120',
    'mirrorlog_producer_events_published_total{op="dir",service="producer"} 3',
    'mirrorlog_producer_reconcile_running 0',
    'weird_metric NaN',
    'x_bucket{le="+Inf"} 5',
    '# HELP never_incremented_total declared, no sample yet',
    '# TYPE never_incremented_total counter',
  ].join('\n');
  const m = parseMetrics(text);
  assert.equal(m.get('mirrorlog_producer_events_published_total'), 123);
  assert.equal(m.get('mirrorlog_producer_reconcile_running'), 0);
  assert.equal(m.has('weird_metric'), false);
  assert.equal(m.get('x_bucket'), 5);
  assert.equal(m.get('never_incremented_total'), 0);
  assert.equal(m.has('not_declared_total'), false);
});

test('parseStatusMemory reads VmRSS and VmHWM; none for a zombie', () => {
  const status = 'Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\nThreads:\t11\n';
  assert.deepEqual(parseStatusMemory(status), { rssKb: 102400, hwmKb: 204800 });
  assert.equal(parseStatusMemory('Name:\tnode\nState:\tZ (zombie)\n'), undefined);
});

test('parseStat copes with spaces and parentheses in the command name', () => {
  const fields = '1234 (node (worker) x) S 99 1234 1234 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 11 0 1000 0 0';
  assert.deepEqual(parseStat(fields), { ppid: 99, cpuTicks: 300 });
  assert.equal(parseStat('garbage'), undefined);
});

test('bench arguments: defaults, values, and errors', () => {
  const defaults = parseBenchArgs([], '/home/me');
  assert.ok(defaults !== 'help');
  assert.equal(defaults.files, 100_000);
  assert.equal(defaults.latencyWrites, 200);
  assert.equal(defaults.burstFiles, 10_000);
  assert.equal(defaults.json, undefined);
  const o = parseBenchArgs(
    ['--files', '20000', '--json', 'out.json', '--with-lsyncd', '--keep', '--work', '/big'],
    '/home/me',
  );
  assert.ok(o !== 'help');
  assert.equal(o.files, 20_000);
  assert.equal(o.json, '/home/me/out.json');
  assert.equal(o.work, '/big');
  assert.equal(o.withLsyncd, true);
  assert.equal(o.keep, true);
  assert.equal(parseBenchArgs(['--help']), 'help');
  assert.throws(() => parseBenchArgs(['--files', '0']), UsageError);
  assert.throws(() => parseBenchArgs(['--files', 'many']), UsageError);
  assert.throws(() => parseBenchArgs(['--bogus']), UsageError);
  assert.throws(() => parseBenchArgs(['--burst-files', '10', '--burst-dirs', '20']), UsageError);
});

test('summarizeProfile ranks functions by self time and leaves idle out', async () => {
  const { summarizeProfile } = await import('../bench/cpu-profile.ts');
  const frame = (functionName: string, url = 'file:///repo/services/producer/x.ts', lineNumber = 9) => ({
    functionName,
    url,
    lineNumber,
  });
  const profile = {
    startTime: 0,
    endTime: 100,
    nodes: [
      { id: 1, callFrame: frame('(root)', '') },
      { id: 2, callFrame: frame('hashFile') },
      { id: 3, callFrame: frame('(idle)', '') },
      { id: 4, callFrame: frame('', 'file:///repo/node_modules/kafkajs/src/a.js', 0) },
    ],
    samples: [2, 2, 3, 4, 2],
    timeDeltas: [0, 1000, 1000, 5000, 1000],
  };
  const { busyMs, hot } = summarizeProfile(profile);
  assert.equal(busyMs, 3);
  assert.deepEqual(
    hot.map((h) => [h.where, h.selfMs]),
    [
      ['hashFile (services/producer/x.ts:10)', 2],
      ['(anonymous) (node_modules/kafkajs/src/a.js:1)', 1],
    ],
  );
});

test('componentOf groups frames by repository file, npm package, Node built-ins and native code', async () => {
  const { componentOf } = await import('../bench/cpu-profile.ts');
  assert.equal(componentOf('file:///work/main/services/producer/uploader.ts'), 'services/producer/uploader.ts');
  assert.equal(componentOf('file:///work/main/node_modules/kafkajs/src/producer/index.js'), 'node_modules/kafkajs');
  assert.equal(componentOf('file:///work/main/node_modules/@parcel/watcher/index.js'), 'node_modules/@parcel/watcher');
  assert.equal(componentOf('node:internal/crypto/hash'), 'node built-ins');
  assert.equal(componentOf(''), '(native: V8, GC, syscalls)');
});
