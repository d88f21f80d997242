// One drawing function per template (functions/common/tiles.py): kpi, series, bars, table.
// Each draws a tile's `data` into `body` and returns the charts it made (destroyed before a redraw).
// Figures are shown as the tile's `display` text, formatted in Python: numbers are never reformatted here.
import uPlot from "uplot";

const COLOURS = ["#2f6fdf", "#d1495b", "#2a9d8f", "#e9a23b", "#7b61c9", "#5c6b73"];

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function width(body) {
  return Math.max(body.clientWidth, 240);
}

// A short x label: an ISO date shows as MM-DD, a month (YYYY-MM) as it is.
function short(label) {
  return /^\d{4}-\d{2}-\d{2}/.test(label) ? label.slice(5, 10) : label;
}

// An axis of labels by index: every `step`-th label, counted back from the last (always shown).
function indexAxis(labels, step, extra) {
  return {
    splits: () => labels.map((_, i) => i).filter((i) => (labels.length - 1 - i) % step === 0),
    values: (_u, splits) => splits.map((i) => short(labels[i] ?? "")),
    ...extra,
  };
}

// How many labels to skip so that those shown on an axis `pixels` wide keep ~56 px apart.
function labelStep(count, pixels) {
  return Math.max(1, Math.ceil(count / Math.max(1, Math.floor((pixels - 60) / 56))));
}

// The figures as text: one row a label, its display on the right.
function figureList(rows) {
  const list = element("ol", "figures");
  rows.forEach(([label, display, colour]) => {
    const item = element("li");
    const name = element("span", "label");
    if (colour) {
      const swatch = element("span", "swatch");
      swatch.style.background = colour;
      name.append(swatch);
    }
    name.append(label);
    item.append(name, element("span", "figure", display));
    list.append(item);
  });
  return list;
}

// A y range with room above and below, also for a single figure or none.
function padded(_u, min, max) {
  if (min == null || max == null) return [0, 1];
  const room = max > min ? (max - min) * 0.15 : Math.abs(max) * 0.1 || 1;
  return [min - room, max + room];
}

// What a bars or table tile counts, under it (a kpi's note follows its figure); absent in older tiles.
function note(body, data) {
  if (data.note) body.append(element("p", "note", data.note));
}

function kpi(body, data) {
  body.append(element("p", "figure", data.figure.display));
  if (data.note) body.append(element("p", "note", data.note));
  const trend = data.trend.map((f) => f.value);
  if (trend.length < 2) return [];
  const holder = element("div", "trend");
  body.append(holder);
  const opts = {
    width: width(body),
    height: 56,
    legend: { show: false },
    cursor: { show: false },
    scales: { x: { time: false, range: [-0.5, trend.length - 0.5] }, y: { range: padded } },
    axes: [{ show: false }, { show: false }],
    // Days without a figure (null) are skipped over; a lone figure still shows, as a dot.
    series: [{}, { stroke: COLOURS[0], width: 2, spanGaps: true, points: { show: true, size: 5, fill: COLOURS[0] } }],
  };
  return [new uPlot(opts, [trend.map((_, i) => i), trend], holder)];
}

function series(body, data) {
  const holder = element("div", "chart");
  body.append(holder);
  const lines = data.lines.map((line, n) => ({
    label: line.label,
    stroke: COLOURS[n % COLOURS.length],
    width: 2,
    value: (_u, _v, _si, idx) => (idx == null ? "" : line.figures[idx]?.display ?? ""),
  }));
  const opts = {
    width: width(body),
    height: 180,
    legend: { show: false },
    scales: { x: { time: false } },
    axes: [indexAxis(data.x, labelStep(data.x.length, width(body))), {}],
    series: [{}, ...lines],
  };
  const values = data.lines.map((line) => line.figures.map((f) => f.value));
  const chart = new uPlot(opts, [data.x.map((_, i) => i), ...values], holder);
  const latest = data.lines.map((line, n) => [
    line.label,
    line.figures.at(-1)?.display ?? "",
    COLOURS[n % COLOURS.length],
  ]);
  body.append(figureList(latest));
  return [chart];
}

function bars(body, data) {
  const holder = element("div", "chart");
  body.append(holder);
  const labels = data.bars.map((bar) => bar.label);
  const opts = {
    width: width(body),
    height: 32 * labels.length + 44,
    legend: { show: false },
    cursor: { show: false },
    scales: {
      x: { time: false, ori: 1, dir: -1, range: [-0.5, labels.length - 0.5] },
      y: { ori: 0, dir: 1, range: (_u, _min, max) => [0, max > 0 ? max * 1.05 : 1] },
    },
    axes: [indexAxis(labels, 1, { side: 3, size: 110, grid: { show: false } }), { side: 2 }],
    series: [
      {},
      {
        fill: `${COLOURS[0]}cc`,
        stroke: COLOURS[0],
        points: { show: false },
        paths: uPlot.paths.bars({ size: [0.7, 24, 12] }),
      },
    ],
  };
  const values = data.bars.map((bar) => bar.figure.value);
  const chart = new uPlot(opts, [labels.map((_, i) => i), values], holder);
  body.append(figureList(data.bars.map((bar) => [bar.label, bar.figure.display])));
  note(body, data);
  return [chart];
}

function table(body, data) {
  const grid = element("table");
  const head = element("tr");
  data.columns.forEach((column) => head.append(element("th", "", column)));
  const thead = element("thead");
  thead.append(head);
  grid.append(thead);
  const rows = element("tbody");
  data.rows.forEach((row) => {
    const line = element("tr");
    row.forEach((cell) => line.append(element("td", "", cell)));
    rows.append(line);
  });
  grid.append(rows);
  // A table wider than its tile (many columns, a narrow window) scrolls inside the tile.
  const scroll = element("div", "scroll");
  scroll.append(grid);
  body.append(scroll);
  if (!data.rows.length) body.append(element("p", "empty", "nothing to list"));
  note(body, data);
  return [];
}

export const TEMPLATES = { kpi, series, bars, table };
