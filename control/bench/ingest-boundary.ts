// SPDX-License-Identifier: Apache-2.0
/**
 * The ingest bench's look at the ten-minute boundary: the 1 h rollup takes raw rows up to the last multiple of
 * HOUR_ROLLUP_EVERY_MS (control/monitoring-store/maintenance.ts), so the first maintenance run after each such
 * boundary carries ten minutes of rows, where earlier measurements saw p99 jump to seconds. For every boundary
 * inside the posting phase: where it fell, when the maintenance run after it started, and the server's answers in
 * the minute before the boundary and in the minute from that run's start.
 */
import { quantile } from "./ingest-result.ts";

/** Answers as the server timed them: when each went out (epoch ms) and how long it took (ms). */
export interface Timed {
  at: number[];
  ms: number[];
}

export interface Quantiles {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export interface Boundary {
  /** The boundary, epoch ms. */
  at: number;
  /** The first maintenance run that started after it (null: none before posting ended): the one with the 1 h rollup. */
  rollupRunAt: number | null;
  /** Accepted answers in the minute before the boundary, and in the minute from rollupRunAt (or the boundary). */
  before: Quantiles;
  after: Quantiles;
  /** Refused answers (503, 429) in the same two minutes. */
  refusedBefore: number;
  refusedAfter: number;
}

export const WINDOW_MS = 60_000;

export function summary(ms: readonly number[]): Quantiles {
  return { count: ms.length, p50: quantile(ms, 0.5), p99: quantile(ms, 0.99), max: quantile(ms, 1) };
}

/** "p50 … ms  p99 … ms  max … ms (count)" (the quantiles of no answers are NaN, null once sent between processes). */
export function formatQuantiles(q: Quantiles): string {
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  return q.count === 0 ? "no answers" : `p50 ${ms(q.p50)}  p99 ${ms(q.p99)}  max ${ms(q.max)} (${q.count})`;
}

/** The latencies of the answers that went out in [from, to). */
function between(t: Timed, from: number, to: number): number[] {
  return t.ms.filter((_, i) => t.at[i]! >= from && t.at[i]! < to);
}

export function rollupBoundaries(
  answers: { accepted: Timed; refused: Timed },
  posting: { from: number; to: number },
  maintenanceRuns: readonly number[],
  everyMs: number,
): Boundary[] {
  const out: Boundary[] = [];
  for (let at = Math.ceil(posting.from / everyMs) * everyMs; at <= posting.to; at += everyMs) {
    const rollupRunAt = maintenanceRuns.find((t) => t >= at && t <= posting.to) ?? null;
    const start = rollupRunAt ?? at;
    out.push({
      at,
      rollupRunAt,
      before: summary(between(answers.accepted, at - WINDOW_MS, at)),
      after: summary(between(answers.accepted, start, start + WINDOW_MS)),
      refusedBefore: between(answers.refused, at - WINDOW_MS, at).length,
      refusedAfter: between(answers.refused, start, start + WINDOW_MS).length,
    });
  }
  return out;
}
