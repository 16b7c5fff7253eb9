// The status page: fetches the model and the last hour of points once, then follows
// server-sent events. Plain browser JavaScript (no build step); the plots are uPlot.
'use strict';

const HOUR_S = 3600;
const COLORS = ['#1d5fbf', '#d9480f', '#2b8a3e', '#862e9c', '#c92a2a', '#0b7285'];
const state = { series: [], replicas: [], charts: {} };
window.mirrorlogStatus = state;

function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  Object.assign(node, props);
  for (const child of children) node.append(child);
  return node;
}

function na() {
  return el('span', { className: 'na', textContent: 'n/a' });
}

function duration(seconds) {
  if (seconds === null || seconds === undefined) return 'n/a';
  const s = Math.round(seconds);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  return `${(s / 3600).toFixed(1)}h`;
}

function ago(now, at) {
  return at === null || at === undefined ? 'never' : `${duration(Math.max(0, (now - at) / 1000))} ago`;
}

function number(value, unit = '') {
  return value === null || value === undefined ? na() : `${value.toLocaleString('en')}${unit}`;
}

/** `ETA 2m`, or `ETA estimating` while there is no basis for one yet. */
function eta(seconds) {
  return seconds === null || seconds === undefined ? 'ETA estimating' : `ETA ${duration(seconds)}`;
}

/** `1,200 of 5,000 entries · ETA 2m` (`of ?` while the total is unknown). */
function progress(done, total, etaSeconds) {
  const of = total === null ? '?' : total.toLocaleString('en');
  return `${(done ?? 0).toLocaleString('en')} of ${of} entries · ${eta(etaSeconds)}`;
}

function codes(latest) {
  return latest.length > 0 ? ` (latest: ${latest.join(', ')})` : '';
}

function replicaRow(r, now) {
  const details = el('td', { className: 'details' });
  if (r.rebuild !== null) {
    const bar = el('span', { className: 'progress' }, el('span'));
    bar.firstChild.style.width = `${(r.rebuild.progress * 100).toFixed(1)}%`;
    details.append(bar, `${(r.rebuild.progress * 100).toFixed(1)}% · ${eta(r.rebuild.etaSeconds)}`);
    if (r.state !== 'rebuilding' && r.reason !== null) details.append(el('br'), r.reason);
  } else if (r.reason !== null) {
    details.append(r.reason);
  }
  if (r.metricsError !== null)
    details.append(el('div', { className: 'note', textContent: `metrics: ${r.metricsError}` }));
  const dead = r.deadLetters.count === 0 ? '0' : `${r.deadLetters.count}${codes(r.deadLetters.latestCodes)}`;
  const row = el(
    'tr',
    {},
    el('td', { textContent: r.replica }),
    el('td', {}, el('span', { className: `badge state-${r.state}`, textContent: r.state })),
    el('td', { className: 'lag', textContent: r.lag.toLocaleString('en') }),
    el('td', {
      className: 'lag-seconds',
      textContent: `${r.lagSecondsAtLeast && r.lag > 0 ? '≥ ' : ''}${duration(r.lagSeconds)}`,
    }),
    el('td', { textContent: `${r.applyRate.toLocaleString('en')}/s` }),
    el('td', { textContent: ago(now, r.lastAppliedAt) }),
    el('td', { className: 'dead-letters', textContent: dead }),
    details,
  );
  row.dataset.replica = r.replica;
  row.dataset.state = r.state;
  return row;
}

function producerCard(p, now) {
  const rows = [
    ['endpoint', p.url],
    ['ready', p.ready === null ? na() : p.ready ? 'yes' : `no: ${p.readyText}`],
    ['publish rate', p.publishRate === null ? na() : `${p.publishRate.toLocaleString('en')} events/s`],
    ['queue depth', number(p.queueDepth, ' paths')],
    ['last published', ago(now, p.lastPublishAt)],
    ['watcher backend', p.watcherBackend ?? na()],
    ['watcher overflows', number(p.watcherOverflows)],
    ['unwatched directories', number(p.unwatchedDirs)],
    [
      'skipped entries',
      Object.keys(p.skipped).length === 0
        ? 'none'
        : Object.entries(p.skipped)
            .map(([k, v]) => `${k}: ${v}`)
            .join(', '),
    ],
    ...(p.firstPublication === null
      ? []
      : [
          [
            'first publication',
            progress(p.firstPublication.published, p.firstPublication.expected, p.firstPublication.etaSeconds),
          ],
        ]),
    [
      'last reconcile',
      p.reconcile.running
        ? `running now: ${progress(p.reconcile.entriesScanned, p.reconcile.expectedEntries, p.reconcile.etaSeconds)}`
        : p.reconcile.lastAt === null
          ? p.reconcile.finished === null
            ? na()
            : `${p.reconcile.finished} finished`
          : `${ago(now, p.reconcile.lastAt)}${p.reconcile.lastTrigger === null ? '' : ` (${p.reconcile.lastTrigger})`}`,
    ],
    [
      'its findings',
      p.reconcile.differences === null
        ? na()
        : `${p.reconcile.differences} differences in ${p.reconcile.entriesScanned ?? 'n/a'} entries, ` +
          `${duration(p.reconcile.lastDurationSeconds)}`,
    ],
  ];
  const list = el('dl');
  for (const [name, value] of rows) list.append(el('dt', { textContent: name }), el('dd', {}, value));
  const card = el('div', { className: 'producer' });
  if (!p.reachable)
    card.append(el('p', { className: 'state-stalled badge', textContent: `metrics port does not answer: ${p.error}` }));
  card.append(list);
  card.dataset.producer = p.url;
  return card;
}

function chart(id, title) {
  const node = document.getElementById(id);
  const names = state.replicas;
  const opts = {
    title,
    width: Math.max(300, node.clientWidth || 560),
    height: 220,
    scales: { x: { time: true } },
    series: [{}, ...names.map((name, i) => ({ label: name, stroke: COLORS[i % COLORS.length], width: 2 }))],
    axes: [{}, { size: 60 }],
  };
  node.replaceChildren();
  return new uPlot(opts, [[], ...names.map(() => [])], node);
}

function chartData(key) {
  const cutoff = Date.now() / 1000 - HOUR_S;
  const points = state.series.filter((p) => p.at / 1000 >= cutoff);
  return [points.map((p) => p.at / 1000), ...state.replicas.map((name) => points.map((p) => p[key][name] ?? null))];
}

function drawCharts() {
  for (const key of ['lag', 'lagSeconds']) state.charts[key].setData(chartData(key));
}

function render(model) {
  const now = model.at;
  document.getElementById('topic').textContent = `topic ${model.topic}`;
  document.getElementById('records').textContent =
    model.records === null ? '' : `${model.records.toLocaleString('en')} records`;
  const kafka = document.getElementById('kafka');
  kafka.textContent = model.kafka.ok ? 'Kafka ok' : model.kafka.error;
  kafka.className = `badge ${model.kafka.ok ? 'state-live' : 'state-stalled'}`;
  document.getElementById('updated').textContent = `updated ${new Date(now).toLocaleTimeString()}`;
  const names = model.replicas.map((r) => r.replica);
  if (names.join('\n') !== state.replicas.join('\n') || state.charts.lag === undefined) {
    state.replicas = names;
    state.charts.lag = chart('lag-plot', '');
    state.charts.lagSeconds = chart('lag-seconds-plot', '');
  }
  document.querySelector('#replicas tbody').replaceChildren(...model.replicas.map((r) => replicaRow(r, now)));
  document.getElementById('no-replicas').hidden = model.replicas.length > 0;
  document.getElementById('producers').replaceChildren(...model.producers.map((p) => producerCard(p, now)));
  const unreachable = model.unreachable.map((u) =>
    el('p', { className: 'note', textContent: `${u.url} does not answer (${u.error})` }),
  );
  document.getElementById('unreachable').replaceChildren(...unreachable);
  const missing = document.getElementById('missing');
  missing.hidden = model.missingMetrics.length === 0;
  missing.textContent = `n/a: the producer does not export ${model.missingMetrics.join(', ')}.`;
  drawCharts();
}

async function start() {
  const response = await fetch('api/status');
  const { model, series } = await response.json();
  state.series = series;
  if (model !== null) render(model);
  const connection = document.getElementById('connection');
  const events = new EventSource('events');
  events.onopen = () => {
    connection.textContent = 'live';
    connection.className = 'badge state-live';
  };
  events.onerror = () => {
    connection.textContent = 'reconnecting';
    connection.className = 'badge state-stalled';
  };
  events.onmessage = (event) => {
    const { model: next, point } = JSON.parse(event.data);
    state.series.push(point);
    const cutoff = point.at - HOUR_S * 1000;
    while (state.series.length > 0 && state.series[0].at < cutoff) state.series.shift();
    state.model = next;
    render(next);
  };
}

start().catch((error) => {
  document.getElementById('connection').textContent = `cannot load: ${error}`;
});
