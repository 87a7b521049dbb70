// The dashboard in Debian's chromium, driven by playwright-core. Run by
// tests/e2e/test_dashboard_browser.py, which starts the stack, posts the events and passes:
//   DASHBOARD_BASE_URL      the API (the page is at $DASHBOARD_BASE_URL/dashboard)
//   DASHBOARD_ADMIN_KEY     an admin-scoped key of a fresh tenant holding the posted events
//   DASHBOARD_PLAIN_KEY     a key of the same tenant without admin scope
//   DASHBOARD_RECEIVER_URL  a local webhook receiver
//   DASHBOARD_EXPECTED      {"by_source": {source: events posted}}
//   DASHBOARD_SCREENSHOTS, DASHBOARD_DOWNLOADS, DASHBOARD_RESULT (paths), CHROMIUM
// Every figure the page shows is compared with what the API answers to this script's own
// requests, in the tables and in the charts (each chart's datasets as Chart.js holds them, read
// through the page's read-only window.dashboardCharts). Any console error or page error fails
// the test, except the failed requests a step provokes on purpose (401, 403, an aborted
// request), which that step names. No fixed sleeps: locators and waitForFunction wait on the page.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { chromium } from 'playwright-core';

const env = (name) => {
  const value = process.env[name];
  assert.ok(value, `${name} is not set (tests/e2e/test_dashboard_browser.py sets it)`);
  return value;
};
const BASE = env('DASHBOARD_BASE_URL');
const ADMIN_KEY = env('DASHBOARD_ADMIN_KEY');
const PLAIN_KEY = env('DASHBOARD_PLAIN_KEY');
const RECEIVER_URL = env('DASHBOARD_RECEIVER_URL');
const EXPECTED = JSON.parse(env('DASHBOARD_EXPECTED'));
const SCREENSHOTS = env('DASHBOARD_SCREENSHOTS');
const DOWNLOADS = env('DASHBOARD_DOWNLOADS');
const RESULT = env('DASHBOARD_RESULT');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const CSV_HEADER =
  'start,source,event_type,count,acknowledged,deleted,expired,ack_latency_ms_p50,ack_latency_ms_p95,deliveries_succeeded,deliveries_failed';

async function api(method, path, { key = ADMIN_KEY, query, body } = {}) {
  const url = new URL(path, BASE);
  for (const [name, value] of Object.entries(query || {})) url.searchParams.set(name, value);
  const init = { method, headers: { 'X-API-Key': key } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : null };
}

// The table as {attrs, columns, rows: [[cell text, ...]]}.
async function readTable(page, id) {
  return page.locator(`#${id}`).evaluate((table) => ({
    attrs: { ...table.dataset },
    columns: [...table.tHead.rows[0].cells].map((c) => c.textContent),
    rows: [...table.tBodies[0].rows].map((r) => [...r.cells].map((c) => c.textContent)),
  }));
}

const cell = (value) => (value === null || value === undefined ? '–' : String(value));
const ms = (value) => (value === null || value === undefined ? null : Math.round(value * 10) / 10);

// The datasets Chart.js holds for canvas `id` ({type, labels, datasets: [{label, data}]}).
async function readChart(page, id) {
  return page.evaluate((canvas) => window.dashboardCharts.read(canvas), id);
}

// The chart shows what its table shows: one label per row (the row header), and each dataset
// equals the table column of the same name (a single-dataset chart: the table's one value column).
function assertChartMatchesTable(chart, table, name) {
  assert.ok(chart, `${name}: no chart drawn`);
  assert.deepEqual(chart.labels, table.rows.map((r) => r[0]), `${name}: labels`);
  assert.ok(chart.datasets.length > 0, `${name}: no dataset`);
  for (const dataset of chart.datasets) {
    let column = table.columns.indexOf(dataset.label);
    if (column < 0 && chart.datasets.length === 1 && table.columns.length === 2) column = 1;
    assert.ok(column > 0, `${name}: dataset ${dataset.label} has no table column (${table.columns})`);
    assert.deepEqual(dataset.data.map(cell), table.rows.map((r) => r[column]), `${name}: ${dataset.label}`);
  }
}

// Console errors and page errors fail the test; `allow` lists what the current step provokes.
function watchConsole(page, problems, where) {
  const allowed = [];
  page.on('pageerror', (err) => problems.push(`${where}: page error: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const text = `${msg.text()} (${msg.location().url || 'no url'})`;
    if (!allowed.some((pattern) => pattern.test(text))) problems.push(`${where}: console error: ${text}`);
  });
  return async (patterns, body) => {
    allowed.push(...patterns);
    try {
      return await body();
    } finally {
      allowed.splice(0, allowed.length);
    }
  };
}

// The events table equals the API's timeseries: the total and one column per stacked series;
// the chart's datasets equal the table's series columns (so the API's per-series counts too).
async function checkEventsTable(page, stack) {
  await page.waitForFunction((s) => document.querySelector(`#events-table[data-stack="${s}"]`), stack);
  const table = await readTable(page, 'events-table');
  const { from, to, granularity } = table.attrs;
  const total = (await api('GET', 'v1/analytics/timeseries', { query: { granularity, from, to } })).body;
  assert.equal(total.from, from);
  assert.equal(total.to, to);
  assert.deepEqual(table.rows.map((r) => r[0]), total.buckets.map((b) => b.start));
  assert.deepEqual(table.rows.map((r) => r.at(-1)), total.buckets.map((b) => cell(b.count)));
  const series = table.columns.slice(1, -1);
  assert.ok(!series.includes('Other') && !series.includes('All events'), `series: ${series}`);
  for (const [index, name] of series.entries()) {
    const part = (await api('GET', 'v1/analytics/timeseries', { query: { granularity, from, to, [stack]: name } })).body;
    assert.deepEqual(table.rows.map((r) => r[index + 1]), part.buckets.map((b) => cell(b.count)), `${stack} ${name}`);
  }
  const chart = await readChart(page, 'events-chart');
  assert.equal(chart.type, 'bar');
  assert.deepEqual(chart.datasets.map((d) => d.label), series);
  assertChartMatchesTable(chart, table, 'events chart');
  assert.deepEqual(chart.labels, total.buckets.map((b) => b.start));
  const stacked = total.buckets.map((_, i) => chart.datasets.reduce((sum, d) => sum + (d.data[i] || 0), 0));
  assert.deepEqual(stacked, total.buckets.map((b) => b.count), 'the stacked bars add up to the total');
  return { table, total, series, chart };
}

// Pending vs acknowledged and ack latency (tables and charts) equal the API for the range of
// the events table.
async function checkStatusAndLatency(page) {
  const events = await readTable(page, 'events-table');
  const query = { from: events.attrs.from, to: events.attrs.to };
  const summary = (await api('GET', 'v1/analytics/summary', { query })).body;
  const status = await readTable(page, 'status-table');
  const s = summary.totals.by_status;
  assert.deepEqual(status.rows, [['Pending', cell(s.pending)], ['Acknowledged', cell(s.acknowledged)], ['Removed', cell(s.removed)]]);
  const statusChart = await readChart(page, 'status-chart');
  assertChartMatchesTable(statusChart, status, 'status chart');
  assert.deepEqual(statusChart.datasets[0].data, [s.pending, s.acknowledged, s.removed]);
  const total = (await api('GET', 'v1/analytics/timeseries', { query: { ...query, granularity: events.attrs.granularity } })).body;
  const latency = await readTable(page, 'latency-table');
  assert.deepEqual(
    latency.rows,
    total.buckets.map((b) => [b.start, cell(b.acknowledged), cell(ms(b.ack_latency_ms.p50)), cell(ms(b.ack_latency_ms.p95))]),
  );
  const latencyChart = await readChart(page, 'latency-chart');
  assert.equal(latencyChart.type, 'line');
  assert.deepEqual(latencyChart.datasets.map((d) => d.label), ['p50 (ms)', 'p95 (ms)']);
  assertChartMatchesTable(latencyChart, latency, 'latency chart');
  assert.deepEqual(latencyChart.datasets[1].data, total.buckets.map((b) => ms(b.ack_latency_ms.p95)));
  return { summary, total };
}

function rowsOfCsv(text) {
  const [header, ...lines] = text.trimEnd().split(/\r?\n/);
  const names = header.split(',');
  return { header, rows: lines.map((line) => Object.fromEntries(line.split(',').map((v, i) => [names[i], v]))) };
}

function sumBy(rows, key, field) {
  const out = {};
  for (const row of rows) out[row[key]] = (out[row[key]] || 0) + Number(row[field]);
  return out;
}

test('the dashboard shows the API and manages webhooks', { timeout: 240_000 }, async (t) => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  mkdirSync(DOWNLOADS, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  t.after(() => browser.close());
  const context = await browser.newContext({ viewport: { width: 1400, height: 1400 }, acceptDownloads: true });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: BASE });
  const page = await context.newPage();
  page.setDefaultTimeout(30_000);
  const problems = [];
  const allowing = watchConsole(page, problems, '/dashboard');
  const failedStatus = (code) => new RegExp(`^Failed to load resource: the server responded with a status of ${code}\\b`);
  const requested = [];
  page.on('request', (req) => requested.push(req.url()));
  const errors = page.locator('#errors li');

  await t.test('the page loads under its Content-Security-Policy', async () => {
    const response = await page.goto(`${BASE}/dashboard`);
    assert.equal(response.status(), 200);
    assert.match(response.headers()['content-security-policy'], /script-src 'self'/);
    await page.getByLabel('API key').waitFor();
    assert.ok(await page.locator('#needs-js').isHidden(), 'the script ran: the "needs JavaScript" text is hidden');
  });

  await t.test('/dashboard/ (trailing slash) redirects to the page, which works', async () => {
    const response = await page.goto(`${BASE}/dashboard/`);
    assert.equal(response.status(), 200);
    assert.equal(page.url(), `${BASE}/dashboard`);
    assert.equal((await response.request().redirectedFrom().response()).status(), 308);
    await page.getByLabel('API key').waitFor();
    assert.ok(await page.locator('#needs-js').isHidden());
    // The Location is relative, so behind a stage prefix it stays under the stage.
    const redirect = await fetch(`${BASE}/dashboard/`, { redirect: 'manual' });
    assert.equal(redirect.status, 308);
    assert.equal(redirect.headers.get('location'), '../dashboard');
    assert.equal(new URL(redirect.headers.get('location'), `${BASE}/api/dashboard/`).href, `${BASE}/api/dashboard`);
  });

  await t.test('without JavaScript the page says so, and Enter sends the key nowhere', async () => {
    const noScript = await browser.newContext({ javaScriptEnabled: false });
    try {
      const bare = await noScript.newPage();
      const seen = [];
      bare.on('request', (req) => seen.push(req.url()));
      await bare.goto(`${BASE}/dashboard`);
      assert.match(await bare.locator('#needs-js').textContent(), /needs JavaScript/);
      assert.ok(await bare.locator('#needs-js').isVisible());
      assert.equal(await bare.locator('#api-key').getAttribute('name'), null);
      assert.equal(await bare.locator('#key-form').getAttribute('method'), 'post');
      await bare.locator('#api-key').fill('tk_local_typed_without_script');
      await bare.locator('#api-key').press('Enter', { noWaitAfter: true, timeout: 5000 });
      await bare.waitForLoadState();
      assert.ok(seen.every((url) => !url.includes('tk_local_typed')), seen.join(' '));
      assert.equal(bare.url(), `${BASE}/dashboard`);
    } finally {
      await noScript.close();
    }
  });

  await t.test('a wrong key, typed with the keyboard, is an error in words; it can be forgotten', async () => {
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'api-key');
    await page.keyboard.type('tk_local_not_a_real_key');
    const unauthorized = errors.filter({ hasText: '401 unauthorized' }).first();
    await allowing([failedStatus(401)], async () => {
      await page.keyboard.press('Enter');
      await unauthorized.waitFor();
      // Every request the key made has answered (the webhooks and both analytics loads).
      await page.locator('#success-note', { hasText: 'webhooks did not load' }).waitFor();
      await page.getByRole('status').filter({ hasText: /Analytics partly shown|failed\./ }).waitFor();
      await page.locator('#events-table-wrap', { hasText: 'Not shown' }).waitFor();
    });
    const text = await unauthorized.textContent();
    assert.match(text, /401 unauthorized: The API key is unknown, revoked or expired\. \(request id \S+\)/);
    await page.getByRole('button', { name: 'Forget key' }).click();
    assert.equal(await page.evaluate(() => sessionStorage.length), 0);
    assert.equal(await errors.count(), 0);
  });

  await t.test('the key lives in sessionStorage only, never in a URL', async () => {
    await page.getByLabel('API key').fill(ADMIN_KEY);
    await page.getByRole('button', { name: 'Use key' }).click();
    await page.getByRole('status').filter({ hasText: 'Analytics loaded.' }).waitFor();
    assert.equal(await page.getByLabel('API key').inputValue(), '');
    assert.deepEqual(await page.evaluate(() => Object.values(sessionStorage)), [ADMIN_KEY]);
    assert.equal(await page.evaluate(() => localStorage.length), 0);
    assert.ok(!page.url().includes(ADMIN_KEY));
    assert.ok(requested.every((url) => !url.includes(ADMIN_KEY)), 'the key appeared in a request URL');
    assert.equal(await errors.count(), 0, await errors.allTextContents().then((x) => x.join('\n')));
  });

  await t.test('the events chart and its table match the timeseries, stacked by source', async () => {
    const { table, series } = await checkEventsTable(page, 'source');
    assert.deepEqual([...series].sort(), Object.keys(EXPECTED.by_source).sort());
    for (const [index, name] of series.entries()) {
      const sum = table.rows.reduce((acc, row) => acc + Number(row[index + 1]), 0);
      assert.equal(sum, EXPECTED.by_source[name], name);
    }
    assert.ok(await page.locator('#events-chart').evaluate((c) => c.width > 0 && c.height > 0));
  });

  await t.test('day granularity over the last 7 days', async () => {
    await page.getByLabel('Range', { exact: true }).selectOption({ label: 'Last 7 days' });
    await page.getByLabel('Day').check();
    await page.waitForFunction(() => document.querySelector('#events-table[data-granularity="day"]'));
    await page.getByRole('status').filter({ hasText: 'Analytics loaded.' }).waitFor();
    const { table, series } = await checkEventsTable(page, 'source');
    assert.equal(table.attrs.granularity, 'day');
    for (const [index, name] of series.entries()) {
      assert.equal(table.rows.reduce((acc, row) => acc + Number(row[index + 1]), 0), EXPECTED.by_source[name], name);
    }
    await checkStatusAndLatency(page);
  });

  await t.test('minute granularity over the last hour, stacked by event type', async () => {
    await page.getByLabel('Range', { exact: true }).selectOption({ label: 'Last hour' });
    await page.getByLabel('Minute').check();
    await page.getByRole('status').filter({ hasText: 'Analytics loaded.' }).waitFor();
    await page.getByLabel('Event type', { exact: true }).check();
    const { table, series } = await checkEventsTable(page, 'event_type');
    assert.equal(table.attrs.granularity, 'minute');
    assert.deepEqual([...series].sort(), ['invoice.failed', 'invoice.paid', 'lead.created', 'order.placed']);
    await page.getByLabel('Source', { exact: true }).check();
    await checkEventsTable(page, 'source');
  });

  await t.test('pending vs acknowledged and ack latency match the API', async () => {
    await page.getByRole('status').filter({ hasText: 'Analytics loaded.' }).waitFor();
    const { total } = await checkStatusAndLatency(page);
    assert.ok(total.buckets.some((b) => b.ack_latency_ms.p95 !== null), 'no latency figure to compare');
  });

  let firstSecret;
  let testDeliveryId;
  const card = page.locator('article.webhook', { hasText: RECEIVER_URL });

  await t.test('create a webhook: its secret is shown once, with a copy button', async () => {
    await page.getByLabel('Endpoint URL').fill(RECEIVER_URL);
    await page.getByLabel('Event types (comma-separated, empty: all; invoice.* matches a prefix)').fill('invoice.*');
    await page.getByLabel('Description').fill('browser test');
    await page.getByRole('button', { name: 'Create webhook' }).click();
    await page.locator('#secret-panel').waitFor();
    firstSecret = await page.getByLabel('Secret', { exact: true }).inputValue();
    assert.match(firstSecret, /^whsec_/);
    // The status line is one live region: a list refresh finishing late (a busy machine) may
    // say something after the copy did, so record every text it took rather than the last.
    await page.evaluate(() => {
      const status = document.getElementById('status');
      window.statusSaid = [];
      new MutationObserver(() => window.statusSaid.push(status.textContent)).observe(status, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });
    await page.getByRole('button', { name: 'Copy' }).click();
    await page.waitForFunction(() => window.statusSaid.some((text) => text.startsWith('Secret copied')));
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), firstSecret);
    await page.getByRole('button', { name: 'I have saved it' }).click();
    await page.locator('#secret-panel').waitFor({ state: 'hidden' });
    assert.ok(!(await page.content()).includes(firstSecret), 'the secret is still in the page');
    await card.waitFor();
    assert.equal(await card.locator('dd.event-types').textContent(), 'invoice.*');
  });

  await t.test('send a test: it shows in the deliveries with its attempt', async () => {
    await card.getByRole('button', { name: 'Send test' }).click();
    const row = page.locator('#deliveries-table tr[data-kind="test"][data-status="succeeded"]');
    await row.waitFor();
    testDeliveryId = await row.getAttribute('data-delivery-id');
    assert.match(await row.locator('.attempt-cell').textContent(), /HTTP 2\d\d, \d+ ms/);
    const hooks = (await api('GET', 'v1/webhooks')).body.webhooks;
    const hook = hooks.find((w) => w.url === RECEIVER_URL);
    const deliveries = (await api('GET', `v1/webhooks/${hook.webhook_id}/deliveries`)).body.deliveries;
    assert.deepEqual(deliveries.map((d) => [d.delivery_id, d.status]), [[testDeliveryId, 'succeeded']]);
    // Delivery success per webhook, from its recent deliveries.
    await page.waitForFunction(
      (url) => [...document.querySelectorAll('#success-table tbody tr')].some((r) => r.cells[0].textContent === url && r.cells[2].textContent === '1'),
      RECEIVER_URL,
    );
    const success = await readTable(page, 'success-table');
    assert.deepEqual(success.rows.find((r) => r[0] === RECEIVER_URL), [RECEIVER_URL, '1', '1', '0', '0', '100 %']);
    const successChart = await readChart(page, 'success-chart');
    assert.deepEqual(successChart.datasets.map((d) => d.label), ['Succeeded', 'Failed', 'Pending']);
    assertChartMatchesTable(successChart, success, 'success chart');
    const at = successChart.labels.indexOf(RECEIVER_URL);
    assert.deepEqual(successChart.datasets.map((d) => d.data[at]), [1, 0, 0]);
  });

  await t.test('edit filters, pause and enable', async () => {
    await card.getByRole('button', { name: 'Edit filters' }).click();
    await card.getByLabel('Sources (comma-separated, empty: all)').fill('billing, crm');
    await card.getByRole('button', { name: 'Save filters' }).click();
    await card.locator('dd.sources', { hasText: 'billing, crm' }).waitFor();
    const find = async () => (await api('GET', 'v1/webhooks')).body.webhooks.find((w) => w.url === RECEIVER_URL);
    assert.deepEqual((await find()).sources, ['billing', 'crm']);
    assert.deepEqual((await find()).event_types, ['invoice.*']);
    // Keyboard focus survives the list being rebuilt: it lands on the same control of the card.
    const focused = () => page.evaluate(() => [document.activeElement.textContent, document.activeElement.closest('article.webhook')?.textContent.includes('browser test') ?? false]);
    assert.deepEqual(await focused(), ['Edit filters', true]);
    await card.getByRole('button', { name: 'Pause' }).focus();
    await page.keyboard.press('Enter');
    await card.locator('.badge', { hasText: 'paused' }).waitFor();
    assert.equal((await find()).status, 'paused');
    assert.deepEqual(await focused(), ['Enable', true]);
    await page.keyboard.press('Enter');
    await card.locator('.badge', { hasText: 'active' }).waitFor();
    assert.equal((await find()).status, 'active');
    assert.deepEqual(await focused(), ['Pause', true]);
  });

  await t.test('rotate the secret: the new one is shown once', async () => {
    await card.getByRole('button', { name: 'Rotate secret' }).click();
    await page.locator('#secret-context', { hasText: 'New secret of' }).waitFor();
    const secret = await page.getByLabel('Secret', { exact: true }).inputValue();
    assert.match(secret, /^whsec_/);
    assert.notEqual(secret, firstSecret);
    await page.getByRole('button', { name: 'I have saved it' }).click();
    await page.locator('#secret-panel').waitFor({ state: 'hidden' });
    assert.ok(!(await page.content()).includes(secret));
  });

  await t.test('screenshots', async () => {
    await card.getByRole('button', { name: 'Show deliveries' }).click();
    await page.locator('#deliveries-table').waitFor();
    await page.locator('#webhooks-panel').screenshot({ path: join(SCREENSHOTS, 'dashboard-webhooks.png') });
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(SCREENSHOTS, 'dashboard-overview.png') });
  });

  await t.test('export CSV and JSON: files with the range\u2019s rows', async () => {
    const [csv] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export CSV' }).click()]);
    const csvPath = join(DOWNLOADS, csv.suggestedFilename());
    await csv.saveAs(csvPath);
    assert.match(csv.suggestedFilename(), /\.csv$/);
    const { header, rows } = rowsOfCsv(readFileSync(csvPath, 'utf8'));
    assert.equal(header, CSV_HEADER);
    assert.deepEqual(sumBy(rows, 'source', 'count'), EXPECTED.by_source);
    const acked = rows.reduce((n, r) => n + Number(r.acknowledged), 0);
    const [json] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Export JSON' }).click()]);
    const jsonPath = join(DOWNLOADS, json.suggestedFilename());
    await json.saveAs(jsonPath);
    const document = JSON.parse(readFileSync(jsonPath, 'utf8'));
    assert.equal(document.granularity, 'minute');
    assert.deepEqual(sumBy(document.rows, 'source', 'count'), EXPECTED.by_source);
    assert.equal(document.rows.reduce((n, r) => n + Number(r.acknowledged), 0), acked);
    assert.ok(acked > 0);
    await page.getByRole('status').filter({ hasText: /^Exported .*\.json/ }).waitFor();
  });

  await t.test('a custom range, in local time', async () => {
    // The last two hours up to five minutes ahead, typed as the browser's local time.
    const [from, to, fromIso, toIso] = await page.evaluate(() => {
      const local = (d) => new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
      const now = Date.now();
      const a = new Date(now - 2 * 3600 * 1000);
      const b = new Date(now + 5 * 60 * 1000);
      const fromLocal = local(a);
      const toLocal = local(b);
      return [fromLocal, toLocal, new Date(fromLocal).toISOString(), new Date(toLocal).toISOString()];
    });
    await page.getByLabel('Hour').check();
    await page.getByLabel('Range', { exact: true }).selectOption({ label: 'Custom' });
    await page.getByLabel('From (your local time)').fill(from);
    await page.getByLabel('To (your local time)').fill(to);
    await page.getByRole('button', { name: 'Refresh', exact: true }).click();
    const wanted = (await api('GET', 'v1/analytics/timeseries', { query: { granularity: 'hour', from: fromIso, to: toIso } })).body;
    await page.waitForFunction((w) => document.querySelector(`#events-table[data-from="${w.from}"][data-to="${w.to}"][data-granularity="hour"]`), {
      from: wanted.from,
      to: wanted.to,
    });
    await page.getByRole('status').filter({ hasText: 'Analytics loaded.' }).waitFor();
    const { table, series } = await checkEventsTable(page, 'source');
    assert.deepEqual([...series].sort(), Object.keys(EXPECTED.by_source).sort());
    const all = Object.values(EXPECTED.by_source).reduce((a, b) => a + b, 0);
    assert.equal(table.rows.reduce((acc, row) => acc + Number(row.at(-1)), 0), all);
    await checkStatusAndLatency(page);
    assert.equal(await errors.count(), 0, await errors.allTextContents().then((x) => x.join('\n')));
  });

  await t.test('a load that fails: an error in words, and the panels it feeds are cleared', async () => {
    await allowing([/^Failed to load resource: net::ERR_FAILED/], async () => {
      await page.route('**/v1/analytics/summary*', (route) => route.abort('failed'));
      await page.route('**/v1/analytics/timeseries*', (route) => route.abort('failed'));
      await page.getByRole('button', { name: 'Refresh', exact: true }).click();
      const failure = errors.filter({ hasText: 'Loading the analytics summary' }).first();
      await failure.waitFor();
      assert.match(await failure.textContent(), /^Loading the analytics summary: network_error: The API could not be reached/);
      await page.getByRole('status').filter({ hasText: 'Analytics partly shown' }).waitFor();
      for (const [canvas, wrap] of [['events-chart', 'events-table-wrap'], ['status-chart', 'status-table-wrap'], ['latency-chart', 'latency-table-wrap']]) {
        assert.equal(await readChart(page, canvas), null, `${canvas} still drawn`);
        assert.match(await page.locator(`#${wrap}`).textContent(), /^Not shown: the .+ did not load \(see Errors\)\.$/, wrap);
      }
      await page.unroute('**/v1/analytics/summary*');
      await page.unroute('**/v1/analytics/timeseries*');
    });
    await page.getByRole('button', { name: 'Clear errors' }).click();
    await page.getByRole('button', { name: 'Refresh', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Analytics loaded.' }).waitFor();
    await checkEventsTable(page, 'source');
  });

  await t.test('delete the webhook', async () => {
    page.once('dialog', (dialog) => dialog.accept());
    await card.getByRole('button', { name: 'Delete' }).click();
    await card.waitFor({ state: 'detached' });
    const hooks = (await api('GET', 'v1/webhooks')).body.webhooks;
    assert.equal(hooks.filter((w) => w.url === RECEIVER_URL).length, 0);
  });

  await t.test('a key without admin scope: webhooks say why, in words', async () => {
    await page.getByRole('button', { name: 'Forget key' }).click();
    await page.getByLabel('API key').fill(PLAIN_KEY);
    await allowing([failedStatus(403)], async () => {
      await page.getByRole('button', { name: 'Use key' }).click();
      await page.locator('#webhooks-note', { hasText: 'admin-scoped' }).waitFor();
      await page.locator('#success-note', { hasText: 'webhooks did not load' }).waitFor();
    });
    assert.match(await page.locator('#webhooks-note').textContent(), /403 forbidden: .+ \(request id \S+\)/);
    await page.locator('#events-table').waitFor();
  });

  await t.test('behind a stage prefix (/api/dashboard) every request keeps the prefix', async () => {
    // API Gateway serves the app under /<stage>/: stand in for it by routing /api/* to the app.
    const prefixed = await context.newPage();
    watchConsole(prefixed, problems, '/api/dashboard');
    const seen = [];
    await prefixed.route(`${BASE}/**`, async (route) => {
      const url = route.request().url();
      seen.push(url);
      if (!url.startsWith(`${BASE}/api/`)) {
        await route.fulfill({ status: 404, body: 'outside the stage' });
        return;
      }
      const response = await route.fetch({ url: url.replace(`${BASE}/api/`, `${BASE}/`) });
      await route.fulfill({ response });
    });
    // (The trailing-slash redirect under a stage is checked above: a route handler only sees
    // the first request of a redirect chain, so it cannot stand in for the stage there.)
    await prefixed.goto(`${BASE}/api/dashboard`);
    await prefixed.getByLabel('API key').fill(ADMIN_KEY);
    await prefixed.getByRole('button', { name: 'Use key' }).click();
    await prefixed.getByRole('status').filter({ hasText: 'Analytics loaded.' }).waitFor();
    await prefixed.locator('#events-table').waitFor();
    await prefixed.locator('#webhooks-note', { hasText: /^(No webhooks yet|\d+ webhooks?)\./ }).waitFor();
    assert.equal(await prefixed.locator('#errors li').count(), 0);
    assert.ok(seen.length > 5);
    assert.deepEqual(seen.filter((url) => !url.startsWith(`${BASE}/api/`)), []);
    assertChartMatchesTable(await readChart(prefixed, 'events-chart'), await readTable(prefixed, 'events-table'), 'events chart under /api');
    await prefixed.close();
  });

  await t.test('blocked session storage and stray errors are said in words', async () => {
    const blocked = await context.newPage();
    const stray = [];
    blocked.on('pageerror', (err) => stray.push(err.message));
    await blocked.addInitScript(() => {
      Object.defineProperty(window, 'sessionStorage', {
        get() {
          throw new DOMException('The operation is insecure.', 'SecurityError');
        },
      });
    });
    await blocked.goto(`${BASE}/dashboard`);
    await blocked.getByLabel('API key').fill(ADMIN_KEY);
    await blocked.getByRole('button', { name: 'Use key' }).click();
    await blocked.locator('#key-state', { hasText: 'session storage is blocked' }).waitFor();
    await blocked.getByRole('status').filter({ hasText: 'Analytics loaded.' }).waitFor();
    assert.equal(await blocked.locator('#errors li').count(), 0);
    // An exception in a handler and a rejection nobody handles reach the error list.
    await blocked.evaluate(() => {
      setTimeout(() => {
        throw new Error('thrown in a timer');
      }, 0);
      Promise.reject(new Error('rejected, unhandled'));
    });
    await blocked.locator('#errors li', { hasText: 'Unexpected error: thrown in a timer' }).waitFor();
    await blocked.locator('#errors li', { hasText: 'Unexpected error: rejected, unhandled' }).waitFor();
    assert.deepEqual(stray.sort(), ['rejected, unhandled', 'thrown in a timer']);
    await blocked.close();
  });

  assert.deepEqual(problems, []);
  writeFileSync(RESULT, JSON.stringify({ test_delivery_id: testDeliveryId }));
});
