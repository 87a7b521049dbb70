// The dashboard page: analytics charts and webhook management for the tenant of an API key.
import { Api, ApiError, attachmentName } from './api.js';
import { clear, destroyAll, draw, lines, stackedBars, table } from './charts.js';
import { $, h } from './dom.js';
import { Webhooks } from './webhooks.js';

const KEY_STORAGE = 'triggers-dashboard-api-key';
const MAX_SERIES = 8; // the largest sources (or event types); the rest is stacked as "Other"
const RECENT_DELIVERIES = 50; // delivery success is computed from each webhook's last N
const MAX_SUCCESS = 20; // ... for the first N webhooks listed only (one request per webhook)

let api = null;
let storageBlocked = false;
let webhooks = null;
let generation = 0; // a refresh started later wins over one still running

// -- messages: every error in words, in a live region ---------------------------------------
export function say(text) {
  $('status').textContent = text;
}

export function showError(what, err) {
  const text = err instanceof ApiError ? err.describe() : `${err && err.message ? err.message : err}`;
  const item = document.createElement('li');
  item.textContent = `${what}: ${text}`;
  $('errors').append(item);
  $('errors-box').hidden = false;
  say(`${what} failed.`);
  return text;
}

// Run a drawing step; an exception becomes an error in words instead of stopping the page.
function safely(what, fn) {
  try {
    return fn();
  } catch (err) {
    showError(what, err);
    return undefined;
  }
}

// An analytics panel whose data did not load: its chart and table are removed (so the previous
// range's figures never stand beside the error) and the panel says why.
function clearPanel(canvasId, wrapId, reason) {
  clear(canvasId);
  $(wrapId).replaceChildren(h('p', { class: 'warning' }, reason));
}

function clearErrors() {
  $('errors').replaceChildren();
  $('errors-box').hidden = true;
}

// -- the key ---------------------------------------------------------------------------------
// sessionStorage can throw (storage blocked by the browser's settings): the key then stays in
// memory for this tab only, and the page says so.
function storage(action) {
  try {
    return action(window.sessionStorage);
  } catch (err) {
    if (!storageBlocked) {
      storageBlocked = true;
      say(`Session storage is blocked (${err && err.message ? err.message : err}): the key is kept in memory for this tab only and is gone on reload.`);
    }
    return null;
  }
}

function keyState() {
  return storageBlocked
    ? 'A key is in use (session storage is blocked: kept in memory for this tab only, gone on reload).'
    : 'A key is in use (kept in this tab\u2019s session storage only).';
}

function useKey(key) {
  storage((s) => s.setItem(KEY_STORAGE, key));
  const client = new Api(key);
  api = client;
  // Answers that arrive after the key was forgotten (or replaced) are dropped, errors included.
  const current = (fn) => (...args) => (api === client ? fn(...args) : '');
  webhooks = new Webhooks(client, {
    say: current(say),
    showError: current(showError),
    recent: RECENT_DELIVERIES,
    maxSuccess: MAX_SUCCESS,
    onChange: current(drawSuccess),
  });
  $('key-state').textContent = keyState();
  $('forget-key').disabled = false;
  $('main').hidden = false;
  refreshAll();
}

function forgetKey() {
  storage((s) => s.removeItem(KEY_STORAGE));
  api = null;
  webhooks = null;
  generation += 1;
  destroyAll();
  for (const id of ['events-table-wrap', 'status-table-wrap', 'latency-table-wrap', 'success-table-wrap', 'webhook-list', 'deliveries']) {
    $(id).replaceChildren();
  }
  $('secret-value').value = '';
  $('secret-panel').hidden = true;
  $('deliveries-panel').hidden = true;
  $('main').hidden = true;
  $('forget-key').disabled = true;
  $('key-state').textContent = 'No key entered. The key stays in this tab\u2019s session storage only.';
  clearErrors();
  say('The key is forgotten.');
}

// -- the range -------------------------------------------------------------------------------
function checked(name) {
  return document.querySelector(`input[name="${name}"]:checked`).value;
}

function currentRange() {
  const granularity = checked('granularity');
  const stack = checked('stack');
  const choice = $('range').value;
  if (choice === 'custom') {
    const from = $('from').value;
    const to = $('to').value;
    if (!from || !to) {
      throw new Error('Enter both ends of the custom range.');
    }
    return { granularity, stack, from: new Date(from).toISOString(), to: new Date(to).toISOString() };
  }
  const end = new Date();
  const start = new Date(end.getTime() - Number(choice) * 1000);
  return { granularity, stack, from: start.toISOString(), to: end.toISOString() };
}

// -- analytics panels ------------------------------------------------------------------------
// Both return nothing: their failures are shown in words here, never left unhandled.
function refreshAll() {
  clearErrors();
  refreshAnalytics();
  const hooks = webhooks;
  hooks.refresh().catch((err) => {
    if (webhooks === hooks) showError('Loading webhooks', err);
  });
}

function refreshAnalytics() {
  const client = api;
  loadAnalytics().catch((err) => {
    if (client === api) showError('Loading analytics', err);
  });
}

async function loadAnalytics() {
  const mine = ++generation;
  const client = api;
  const report = (what) => (err) => {
    if (mine === generation && client === api) showError(what, err);
    return null;
  };
  const range = rangeOrReport();
  if (!range) return;
  say('Loading analytics\u2026');
  const window = { from: range.from, to: range.to };
  const [summary, total] = await Promise.all([
    client.get('v1/analytics/summary', window).catch(report('Loading the analytics summary')),
    client.get('v1/analytics/timeseries', { granularity: range.granularity, ...window }).catch(report('Loading the events timeseries')),
  ]);
  if (mine !== generation) return;
  let drawn = Boolean(summary && total);
  if (summary) {
    drawn = safely('Drawing pending vs acknowledged', () => drawStatus(summary)) === true && drawn;
  } else {
    clearPanel('status-chart', 'status-table-wrap', 'Not shown: the analytics summary did not load (see Errors).');
  }
  if (total) {
    drawn = safely('Drawing ack latency', () => drawLatency(total, summary)) === true && drawn;
    drawn = (await drawEvents(client, range, summary, total, mine)) === true && drawn;
  } else {
    const why = 'Not shown: the events timeseries did not load (see Errors).';
    clearPanel('events-chart', 'events-table-wrap', why);
    clearPanel('latency-chart', 'latency-table-wrap', why);
    $('events-note').textContent = why;
    $('latency-summary').textContent = why;
  }
  if (mine !== generation) return;
  if (drawn) {
    say('Analytics loaded.');
  } else {
    say('Analytics partly shown: see Errors.');
  }
}

async function drawEvents(client, range, summary, total, mine) {
  const field = range.stack; // 'source' or 'event_type'
  const list = summary ? (field === 'source' ? summary.by_source : summary.by_event_type) : [];
  const names = [...list].sort((a, b) => b.ingested - a.ingested || (a[field] < b[field] ? -1 : 1)).slice(0, MAX_SERIES).map((row) => row[field]);
  const params = { granularity: range.granularity, from: range.from, to: range.to };
  let parts;
  try {
    parts = await Promise.all(names.map((name) => client.get('v1/analytics/timeseries', { ...params, [field]: name })));
  } catch (err) {
    if (mine === generation) showError(`Loading the timeseries by ${field === 'source' ? 'source' : 'event type'}`, err);
    parts = [];
  }
  if (mine !== generation) return true;
  return safely('Drawing the events chart', () => drawEventsNow(field, names, parts, total)) === true;
}

function drawEventsNow(field, names, parts, total) {
  const labels = total.buckets.map((b) => b.start);
  const series = parts.map((part, i) => ({ label: names[i], values: part.buckets.map((b) => b.count) }));
  const other = total.buckets.map((b, i) => b.count - series.reduce((sum, s) => sum + (s.values[i] || 0), 0));
  if (!parts.length) {
    series.push({ label: 'All events', values: total.buckets.map((b) => b.count) });
  } else if (other.some((n) => n !== 0)) {
    series.push({ label: 'Other', values: other });
  }
  const by = field === 'source' ? 'source' : 'event type';
  $('events-note').textContent = `Events created per ${total.granularity}, stacked by ${by}, ${total.from} to ${total.to} (UTC).`;
  stackedBars('events-chart', labels, series, { yTitle: 'events', granularity: total.granularity });
  table($('events-table-wrap'), {
    id: 'events-table',
    caption: `Events created per ${total.granularity} by ${by} (bucket start, UTC)`,
    columns: ['Bucket start', ...series.map((s) => s.label), 'Total'],
    rows: total.buckets.map((b, i) => [b.start, ...series.map((s) => s.values[i]), b.count]),
    attrs: { from: total.from, to: total.to, granularity: total.granularity, stack: field },
  });
  return true;
}

function ms(value) {
  return value === null || value === undefined ? null : Math.round(value * 10) / 10;
}

function drawLatency(total, summary) {
  const labels = total.buckets.map((b) => b.start);
  const p50 = total.buckets.map((b) => ms(b.ack_latency_ms ? b.ack_latency_ms.p50 : null));
  const p95 = total.buckets.map((b) => ms(b.ack_latency_ms ? b.ack_latency_ms.p95 : null));
  lines('latency-chart', labels, [
    { label: 'p50 (ms)', values: p50 },
    { label: 'p95 (ms)', values: p95 },
  ], { yTitle: 'milliseconds', granularity: total.granularity });
  table($('latency-table-wrap'), {
    id: 'latency-table',
    caption: `Ack latency per ${total.granularity}, of the acknowledgements made in each bucket`,
    columns: ['Bucket start', 'Acknowledged', 'p50 (ms)', 'p95 (ms)'],
    rows: total.buckets.map((b, i) => [b.start, b.acknowledged, p50[i], p95[i]]),
  });
  const totals = summary ? summary.totals : null;
  const overall = totals && totals.ack_latency_ms ? totals.ack_latency_ms : null;
  const text = !totals
    ? 'Range totals unavailable (the summary failed).'
    : totals.acknowledged === 0
      ? 'No acknowledgements in the range.'
      : `Over the range: ${totals.acknowledged} acknowledgements; p50 ${fmt(overall && overall.p50)} ms, p95 ${fmt(overall && overall.p95)} ms, mean ${fmt(totals.ack_latency_ms_avg)} ms.`;
  $('latency-summary').textContent = text;
  return true;
}

function fmt(value) {
  return value === null || value === undefined ? '–' : String(ms(value));
}

function drawStatus(summary) {
  const s = summary.totals.by_status;
  const labels = ['Pending', 'Acknowledged', 'Removed'];
  const values = [s.pending, s.acknowledged, s.removed];
  draw('status-chart', {
    type: 'bar',
    data: { labels, datasets: [{ label: 'events', data: values, backgroundColor: ['#E69F00', '#009E73', '#999999'] }] },
    options: { indexAxis: 'y', plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true } } },
  });
  table($('status-table-wrap'), {
    id: 'status-table',
    caption: `Events created ${summary.from} to ${summary.to}, by current status`,
    columns: ['Status', 'Events'],
    rows: labels.map((label, i) => [label, values[i]]),
  });
  return true;
}

function drawSuccess(rows, { total = rows.length, why = '' } = {}) {
  safely('Drawing delivery success', () => drawSuccessNow(rows, total, why));
}

function drawSuccessNow(rows, total, why) {
  if (why) {
    $('success-note').textContent = why;
    clearPanel('success-chart', 'success-table-wrap', why);
    return;
  }
  const capped = total > rows.length ? ` Shown for the first ${rows.length} of the ${total} webhooks listed (at most ${MAX_SUCCESS}).` : '';
  $('success-note').textContent = `From each webhook\u2019s last ${RECENT_DELIVERIES} deliveries (tests included), not a running counter.${capped}`;
  stackedBars('success-chart', rows.map((r) => r.label), [
    { label: 'Succeeded', values: rows.map((r) => r.succeeded) },
    { label: 'Failed', values: rows.map((r) => r.failed) },
    { label: 'Pending', values: rows.map((r) => r.pending) },
  ], { horizontal: true });
  table($('success-table-wrap'), {
    id: 'success-table',
    caption: `Outcome of each webhook\u2019s last ${RECENT_DELIVERIES} deliveries`,
    columns: ['Webhook', 'Deliveries', 'Succeeded', 'Failed', 'Pending', 'Success'],
    rows: rows.map((r) => [
      r.label,
      r.succeeded + r.failed + r.pending,
      r.succeeded,
      r.failed,
      r.pending,
      r.succeeded + r.failed ? `${Math.round((1000 * r.succeeded) / (r.succeeded + r.failed)) / 10} %` : null,
    ]),
  });
}

// The range picked, or null after showing why it cannot be used.
function rangeOrReport() {
  try {
    return currentRange();
  } catch (err) {
    showError('Range', err);
    return null;
  }
}

// -- export ----------------------------------------------------------------------------------
async function exportAs(format) {
  const range = rangeOrReport();
  if (!range) return;
  say(`Exporting ${format.toUpperCase()}\u2026`);
  try {
    if (!api) return;
    const response = await api.raw('GET', 'v1/analytics/export', {
      query: { format, granularity: range.granularity, from: range.from, to: range.to },
    });
    const blob = await response.blob();
    const name = attachmentName(response.headers.get('Content-Disposition'), `analytics.${format}`);
    const url = URL.createObjectURL(blob);
    const link = document.createElement('a');
    link.href = url;
    link.download = name;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
    say(`Exported ${name} (${blob.size} bytes).`);
  } catch (err) {
    showError(`Exporting ${format.toUpperCase()}`, err);
  }
}

// -- wiring ----------------------------------------------------------------------------------
// Anything that still escapes (a rejected promise nobody awaited, an exception in a handler)
// is shown in words too, not only in the console.
function reasonOf(value) {
  return value instanceof Error || value instanceof ApiError ? value : new Error(String(value));
}

function start() {
  window.addEventListener('unhandledrejection', (event) => {
    showError('Unexpected error', reasonOf(event.reason));
  });
  window.addEventListener('error', (event) => {
    showError('Unexpected error', event.error ? reasonOf(event.error) : new Error(event.message));
  });
  $('needs-js').hidden = true;
  $('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = $('api-key');
    const key = input.value.trim();
    input.value = '';
    if (key) useKey(key);
  });
  $('forget-key').addEventListener('click', forgetKey);
  $('clear-errors').addEventListener('click', clearErrors);
  $('range').addEventListener('change', () => {
    const custom = $('range').value === 'custom';
    $('custom-range').hidden = !custom;
    if (api && !custom) refreshAnalytics();
  });
  $('range-form').addEventListener('submit', (event) => {
    event.preventDefault();
    if (api) refreshAll();
  });
  for (const input of document.querySelectorAll('input[name="granularity"], input[name="stack"]')) {
    input.addEventListener('change', () => api && refreshAnalytics());
  }
  $('export-csv').addEventListener('click', () => exportAs('csv'));
  $('export-json').addEventListener('click', () => exportAs('json'));
  const saved = storage((s) => s.getItem(KEY_STORAGE));
  if (saved) useKey(saved);
}

start();
