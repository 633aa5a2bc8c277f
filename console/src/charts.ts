// Charts with uPlot. Each series differs by dash and point shape as well as
// colour, and each chart carries its numbers as a table, so none depends on
// colour or on seeing the canvas.

import uPlot from "uplot";
import { h, int } from "./dom";

const STYLES: { stroke: string; dash: number[]; points: string }[] = [
  { stroke: "#1f5fa8", dash: [], points: "circle" },
  { stroke: "#b4462b", dash: [8, 4], points: "square" },
  { stroke: "#2c7a3f", dash: [2, 3], points: "triangle" },
  { stroke: "#6d3fa0", dash: [12, 3, 2, 3], points: "diamond" },
  { stroke: "#7a5b12", dash: [4, 4], points: "cross" },
];

const COMPACT = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

/// An axis label: short (25K, $1.2K), whole numbers only for counts.
function axis(v: number, format: (n: number) => string): string {
  if (format === int) return COMPACT.format(v);
  return Math.abs(v) >= 1000 ? `$${COMPACT.format(v)}` : format(v);
}

export interface Series {
  label: string;
  values: number[];
}

/// A line chart of `series` over `days` (YYYY-MM-DD), with its data table.
export function lineChart(title: string, days: string[], series: Series[], format: (n: number) => string = int): HTMLElement {
  const figure = h("figure", { class: "chart" }, h("figcaption", {}, title));
  if (days.length === 0 || series.length === 0) {
    figure.append(h("p", { class: "empty" }, "No data in this period."));
    return figure;
  }
  const plot = h("div", { class: "plot", role: "img", "aria-label": `${title}: chart; the same numbers are in the table below` });
  figure.append(plot);
  const xs = days.map((d) => Date.parse(`${d}T00:00:00Z`) / 1000);
  const opts: uPlot.Options = {
    width: 640,
    height: 220,
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
    series: [
      { label: "Day" },
      ...series.map((s, i) => {
        const style = STYLES[i % STYLES.length]!;
        return {
          label: s.label,
          stroke: style.stroke,
          dash: style.dash,
          width: 2,
          points: { show: true, size: 7, stroke: style.stroke, fill: i % 2 ? "#fff" : style.stroke },
          value: (_u: uPlot, v: number | null) => (v === null ? "–" : format(v)),
        };
      }),
    ],
    axes: [{}, { size: 64, values: (_u, vals) => vals.map((v) => (Number.isInteger(v) || format !== int ? axis(v, format) : "")) }],
    legend: { live: true },
  };
  // Drawn once the figure is in the page (uPlot measures its container).
  queueMicrotask(() => {
    const width = Math.max(320, Math.min(plot.clientWidth || 640, 960));
    new uPlot({ ...opts, width }, [xs, ...series.map((s) => s.values)], plot);
  });
  figure.append(dataTable(title, days, series, format));
  return figure;
}

function dataTable(title: string, days: string[], series: Series[], format: (n: number) => string): HTMLElement {
  return h(
    "details",
    { class: "data" },
    h("summary", {}, `Numbers behind “${title}”`),
    h(
      "table",
      {},
      h("caption", {}, title),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, "Day"), series.map((s) => h("th", { scope: "col" }, s.label)))),
      h(
        "tbody",
        {},
        days.map((day, i) => h("tr", {}, h("th", { scope: "row" }, day), series.map((s) => h("td", { class: "num" }, format(s.values[i] ?? 0))))),
      ),
    ),
  );
}

/// A horizontal bar list: one labelled bar per row, the value written beside it.
export function bars(title: string, rows: { label: string; value: number }[], format: (n: number) => string = int): HTMLElement {
  const max = Math.max(...rows.map((r) => r.value), 0);
  return h(
    "figure",
    { class: "bars" },
    h("figcaption", {}, title),
    rows.length === 0
      ? h("p", { class: "empty" }, "No data in this period.")
      : h(
          "ul",
          {},
          rows.map((r) =>
            h(
              "li",
              {},
              h("span", { class: "bar-label" }, r.label),
              h("meter", { min: 0, max: max || 1, value: r.value, "aria-label": `${r.label}: ${format(r.value)}` }),
              h("span", { class: "num" }, format(r.value)),
            ),
          ),
        ),
  );
}
