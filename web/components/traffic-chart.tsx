// SPDX-License-Identifier: Apache-2.0
/**
 * RX/TX charts of a node or an interface over a window: bytes per second and
 * packets per second (with drops), drawn in the browser by uPlot
 * (web/assets/charts.js) from the numbers embedded in the page, so an htmx
 * refresh brings new numbers and the script draws them again. Time without
 * data (no report, or a bucket without one) is a gap, not a zero.
 */
import { raw } from "hono/html";
import { pointRates, type SeriesPoint, type SeriesRates } from "../../control/queries/monitoring/interfaces.ts";
import { BUCKET_MS, type Window } from "../../control/monitoring/rollup.ts";

/** What charts.js reads: x in seconds since the epoch, a value per x per series (null: a gap). */
export interface ChartData {
  unit: "bytes" | "packets";
  x: number[];
  series: Array<{ label: string; color: string; values: Array<number | null> }>;
}

const RX = "#2563eb";
const TX = "#16a34a";
const DROPS = "#dc2626";

/** Four significant digits are more than a chart or its legend shows, and keep the page small. */
const round = (v: number | null) => (v === null ? null : Number(v.toPrecision(4)));

/**
 * The points laid out on the window's time axis: on 1m and 1h every bucket
 * of the window, null where none has data; on raw each report, with a gap
 * before one whose interval does not reach back to the report before it
 * (the agent was down, or a new boot began).
 */
export function seriesColumns(
  points: readonly SeriesPoint[],
  w: Window,
): { x: number[]; points: Array<SeriesPoint | null> } {
  const x: number[] = [];
  const out: Array<SeriesPoint | null> = [];
  const size = BUCKET_MS[w.level];
  if (size > 0) {
    const byBucket = new Map(points.map((p) => [p.t, p]));
    for (let t = w.from; t < w.to; t += size) {
      x.push(t / 1000);
      out.push(byBucket.get(t) ?? null);
    }
    return { x, points: out };
  }
  let previous: number | undefined;
  for (const p of points) {
    const start = p.t - p.seconds * 1000;
    // A second of slack: intervals are measured on the agent's clock, to the millisecond.
    if (previous !== undefined && start > previous + 1000) {
      x.push(start / 1000);
      out.push(null);
    }
    x.push(p.t / 1000);
    out.push(p);
    previous = p.t;
  }
  return { x, points: out };
}

/** Each chart's lines: label, colour, and the rate drawn. */
const LINES: Record<ChartData["unit"], ReadonlyArray<[string, string, keyof SeriesRates]>> = {
  bytes: [["RX", RX, "rxBytesPerSec"], ["TX", TX, "txBytesPerSec"]],
  packets: [["RX", RX, "rxPacketsPerSec"], ["TX", TX, "txPacketsPerSec"], ["drops", DROPS, "dropsPerSec"]],
};

/** The bytes/s and packets/s charts' data. */
export function chartData(points: readonly SeriesPoint[], w: Window): Record<ChartData["unit"], ChartData> {
  const columns = seriesColumns(points, w);
  const rates = columns.points.map((p) => (p === null ? null : pointRates(p)));
  const chart = (unit: ChartData["unit"]): ChartData => ({
    unit,
    x: columns.x,
    series: LINES[unit].map(([label, color, key]) => ({
      label,
      color,
      values: rates.map((r) => round(r === null ? null : r[key])),
    })),
  });
  return { bytes: chart("bytes"), packets: chart("packets") };
}

/** JSON inside <script>: nothing in it may close the element. */
const scriptJson = (data: unknown) => JSON.stringify(data).replace(/</g, "\\u003c");

export function Chart(props: { title: string; data: ChartData }) {
  return (
    <figure class="chart" data-chart="">
      <figcaption>{props.title}</figcaption>
      <div class="plot"></div>
      <script type="application/json">{raw(scriptJson(props.data))}</script>
      <noscript>
        <p class="none">The chart needs JavaScript; the tables below have the numbers.</p>
      </noscript>
    </figure>
  );
}

/** Both charts, or `empty` (in words) when the window has no data. */
export function TrafficCharts(props: { points: readonly SeriesPoint[]; window: Window; empty: string }) {
  if (props.points.length === 0) return <p class="none">{props.empty}</p>;
  const data = chartData(props.points, props.window);
  return (
    <div class="charts">
      <Chart title="Bytes per second" data={data.bytes} />
      <Chart title="Packets per second" data={data.packets} />
    </div>
  );
}
