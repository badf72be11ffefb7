// SPDX-License-Identifier: Apache-2.0
/**
 * A node's last hour at a glance: RX and TX bytes per second per minute as
 * two lines of an inline SVG, drawn on the server (no script, a few hundred
 * bytes per node, so the overview stays light with a thousand nodes).
 * Each line is scaled to the larger of the two; minutes without data are
 * gaps; the exact peaks are in the title.
 */
import type { SparkPoint } from "../../control/queries/monitoring/interfaces.ts";
import { BUCKET_MS, type Window } from "../../control/monitoring/rollup.ts";
import { formatByteRate } from "../format.ts";

const HEIGHT = 20;

/** SVG path of one line: x in buckets from the window's start, y scaled to `max`; a missing bucket breaks the line. */
function path(points: ReadonlyArray<{ i: number; v: number }>, max: number): string {
  let d = "";
  let last = -2;
  let segment = 0;
  // A lone point (a segment of one) is drawn as a short dash.
  const dash = () => (segment === 1 ? "h0.8" : "");
  for (const { i, v } of points) {
    const y = Math.round((HEIGHT - 1 - ((HEIGHT - 2) * v) / max) * 10) / 10;
    if (i === last + 1) (d += `L${i} ${y}`), segment++;
    else (d += `${dash()}M${i} ${y}`), (segment = 1);
    last = i;
  }
  return d + dash();
}

export function Sparkline(props: { points: readonly SparkPoint[]; window: Window }) {
  const { window: w } = props;
  const size = BUCKET_MS[w.level];
  const width = Math.max(1, Math.round((w.to - w.from) / size) - 1);
  const rx: Array<{ i: number; v: number }> = [];
  const tx: Array<{ i: number; v: number }> = [];
  for (const p of props.points) {
    if (p.seconds <= 0) continue;
    const i = Math.round((p.t - w.from) / size);
    rx.push({ i, v: p.rxBytes / p.seconds });
    tx.push({ i, v: p.txBytes / p.seconds });
  }
  if (rx.length === 0) return <span class="spark-none na">no data in the last hour</span>;
  const peak = (line: typeof rx) => line.reduce((m, p) => Math.max(m, p.v), 0);
  const [rxPeak, txPeak] = [peak(rx), peak(tx)];
  const max = Math.max(rxPeak, txPeak, 1);
  return (
    <svg class="spark" viewBox={`0 0 ${width} ${HEIGHT}`} preserveAspectRatio="none" role="img">
      <title>{`Last hour per minute: RX peak ${formatByteRate(rxPeak)}, TX peak ${formatByteRate(txPeak)}`}</title>
      <path class="spark-rx" d={path(rx, max)} />
      <path class="spark-tx" d={path(tx, max)} />
    </svg>
  );
}
