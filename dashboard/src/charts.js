// Chart.js with only the pieces the page uses registered, and the data table that sits under
// every chart with the same numbers (colour is never the only cue: each series also has a
// fill pattern, a legend label and a table column).
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
} from 'chart.js';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  PointElement,
  Tooltip,
);

// Okabe-Ito: distinguishable with the common colour-vision deficiencies.
const COLOURS = ['#0072B2', '#E69F00', '#009E73', '#CC79A7', '#56B4E9', '#D55E00', '#F0E442', '#000000', '#999999'];
const PATTERNS = ['solid', 'diagonal', 'dots', 'horizontal', 'vertical', 'cross', 'backslash', 'grid', 'dense'];

export function colour(index) {
  return COLOURS[index % COLOURS.length];
}

// A canvas fill pattern for series `index`: the colour plus a shape drawn in white.
export function pattern(index) {
  const kind = PATTERNS[index % PATTERNS.length];
  const base = colour(index);
  if (kind === 'solid') {
    return base;
  }
  const size = 10;
  const tile = document.createElement('canvas');
  tile.width = size;
  tile.height = size;
  const ctx = tile.getContext('2d');
  ctx.fillStyle = base;
  ctx.fillRect(0, 0, size, size);
  ctx.strokeStyle = 'rgba(255,255,255,0.85)';
  ctx.fillStyle = 'rgba(255,255,255,0.85)';
  ctx.lineWidth = 2;
  const line = (x1, y1, x2, y2) => {
    ctx.beginPath();
    ctx.moveTo(x1, y1);
    ctx.lineTo(x2, y2);
    ctx.stroke();
  };
  if (kind === 'diagonal') line(0, size, size, 0);
  if (kind === 'backslash') line(0, 0, size, size);
  if (kind === 'horizontal') line(0, size / 2, size, size / 2);
  if (kind === 'vertical') line(size / 2, 0, size / 2, size);
  if (kind === 'cross' || kind === 'grid') {
    line(0, size / 2, size, size / 2);
    line(size / 2, 0, size / 2, size);
  }
  if (kind === 'dots' || kind === 'dense') {
    ctx.beginPath();
    ctx.arc(size / 2, size / 2, kind === 'dense' ? 3 : 2, 0, Math.PI * 2);
    ctx.fill();
  }
  return ctx.createPattern(tile, 'repeat');
}

const charts = new Map();

// Read-only view of a drawn chart, for the browser test (dashboard/tests/browser.test.mjs): a
// plain copy of what Chart.js holds for the canvas `id` (Chart.getChart), or null.
function snapshot(id) {
  const chart = Chart.getChart(document.getElementById(id));
  if (!chart) return null;
  return JSON.parse(
    JSON.stringify({
      type: chart.config.type,
      labels: chart.data.labels,
      datasets: chart.data.datasets.map((d) => ({ label: d.label, data: d.data })),
    }),
  );
}
Object.defineProperty(window, 'dashboardCharts', { value: Object.freeze({ read: snapshot }) });

// Draw (or redraw) the chart on canvas `id`.
export function draw(id, config) {
  const existing = charts.get(id);
  if (existing) {
    existing.destroy();
  }
  const canvas = document.getElementById(id);
  const chart = new Chart(canvas, {
    ...config,
    options: {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      ...config.options,
    },
  });
  charts.set(id, chart);
  return chart;
}

// Remove the chart on canvas `id` (its panel says why elsewhere).
export function clear(id) {
  const existing = charts.get(id);
  if (existing) {
    existing.destroy();
    charts.delete(id);
  }
}

export function destroyAll() {
  for (const chart of charts.values()) {
    chart.destroy();
  }
  charts.clear();
}

// A bucket start (RFC 3339) as a short axis label: the time for minute and hour buckets, the
// date for day buckets (the data tables keep the full timestamp).
export function shortLabel(start, granularity) {
  return granularity === 'day' ? start.slice(0, 10) : start.slice(11, 16);
}

function timeAxis(granularity, stacked) {
  if (!granularity) {
    return { stacked };
  }
  return {
    stacked,
    title: { display: true, text: `${granularity} starting (UTC)` },
    ticks: {
      maxRotation: 0,
      autoSkip: true,
      callback(value) {
        return shortLabel(this.getLabelForValue(value), granularity);
      },
    },
  };
}

export function stackedBars(id, labels, series, { horizontal = false, yTitle = '', granularity = '' } = {}) {
  return draw(id, {
    type: 'bar',
    data: {
      labels,
      datasets: series.map((s, i) => ({
        label: s.label,
        data: s.values,
        backgroundColor: pattern(i),
        borderColor: colour(i),
        borderWidth: 1,
        stack: 'all',
      })),
    },
    options: {
      indexAxis: horizontal ? 'y' : 'x',
      scales: {
        x: horizontal ? { stacked: true, beginAtZero: true } : timeAxis(granularity, true),
        y: horizontal
          ? { stacked: true }
          : { stacked: true, beginAtZero: true, title: { display: Boolean(yTitle), text: yTitle } },
      },
      plugins: { legend: { position: 'bottom' } },
    },
  });
}

export function lines(id, labels, series, { yTitle = '', granularity = '' } = {}) {
  const styles = ['circle', 'rectRot', 'triangle', 'rect'];
  const dashes = [[], [6, 4], [2, 3], [10, 3, 2, 3]];
  return draw(id, {
    type: 'line',
    data: {
      labels,
      datasets: series.map((s, i) => ({
        label: s.label,
        data: s.values,
        borderColor: colour(i),
        backgroundColor: colour(i),
        borderDash: dashes[i % dashes.length],
        pointStyle: styles[i % styles.length],
        pointRadius: 3,
        spanGaps: false,
      })),
    },
    options: {
      scales: {
        x: timeAxis(granularity, false),
        y: { beginAtZero: true, title: { display: Boolean(yTitle), text: yTitle } },
      },
      plugins: { legend: { position: 'bottom', labels: { usePointStyle: true } } },
    },
  });
}

// A data table: `columns` are header texts, `rows` arrays of cell values (null shows as "–").
// `attrs` become data- attributes of the table (the browser test reads them).
export function table(container, { caption, columns, rows, attrs = {}, id }) {
  const el = document.createElement('table');
  if (id) el.id = id;
  for (const [name, value] of Object.entries(attrs)) {
    el.dataset[name] = value;
  }
  const cap = document.createElement('caption');
  cap.textContent = caption;
  el.append(cap);
  const head = el.createTHead().insertRow();
  for (const column of columns) {
    const th = document.createElement('th');
    th.scope = 'col';
    th.textContent = column;
    head.append(th);
  }
  const body = el.createTBody();
  for (const row of rows) {
    const tr = body.insertRow();
    row.forEach((value, index) => {
      const cell = document.createElement(index === 0 ? 'th' : 'td');
      if (index === 0) cell.scope = 'row';
      cell.textContent = value === null || value === undefined ? '–' : String(value);
      tr.append(cell);
    });
  }
  if (!rows.length) {
    const tr = body.insertRow();
    const td = tr.insertCell();
    td.colSpan = columns.length;
    td.textContent = 'No data.';
  }
  container.replaceChildren(el);
  return el;
}
