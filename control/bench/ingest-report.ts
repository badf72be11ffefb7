// SPDX-License-Identifier: Apache-2.0
/**
 * The ingest bench's report: a few lines per scenario, then the issue's targets (issue 18), each with its
 * figure and met or NOT met, and the control plane under Deno next to Node as ratios. Timings are only compared
 * within one run (the machine is shared and noisy); the targets in milliseconds are the issue's own.
 */
import { type Boundary, formatQuantiles } from "./ingest-boundary.ts";
import type { ScenarioResult } from "./ingest-result.ts";

export const TARGETS = {
  /** Server CPU per batch, plain JSON ÷ compact, at the comparison node count. */
  cpuRatio: 4,
  /** Client p99 at the comparison node count (1,000 nodes), ms. */
  p99Ms: 50,
  /** Client p99 of the long scenario (5,000 nodes), across the 1 h rollup boundary, ms; and no failure. */
  longP99Ms: 250,
  /** Compact, gzipped request bytes per flow record. */
  wireBytesPerFlow: 16,
};

const word = (ok: boolean) => (ok ? "met" : "NOT met");
const ms = (n: number) => `${n.toFixed(1)} ms`;
const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ratio = (a: number, b: number) => (a / b).toFixed(2);

function label(r: ScenarioResult): string {
  const s = r.scenario;
  const env = Object.entries(s.env ?? {}).map(([k, v]) => ` ${k}=${v}`).join("");
  return `${String(r.nodes).padStart(5)} nodes ${s.encoding.padEnd(7)} ${s.runtime.padEnd(4)}${env}`;
}

function boundaryLine(b: Boundary, from: number): string {
  const rel = (t: number) => `+${((t - from) / 1000).toFixed(0)} s`;
  return `  10-minute boundary at ${rel(b.at)} (${new Date(b.at).toISOString().slice(11, 19)} UTC), the 1 h rollup ` +
    (b.rollupRunAt === null ? "not run before batches stopped" : `in the maintenance run from ${rel(b.rollupRunAt)}`) +
    `; accepted in the server, minute before: ${formatQuantiles(b.before)}, ${b.refusedBefore} refused; ` +
    `minute from ${b.rollupRunAt === null ? "the boundary" : "that run"}: ${
      formatQuantiles(b.after)
    }, ${b.refusedAfter} refused`;
}

/** What the failures were: answers by status, and requests without one. */
function failures(r: ScenarioResult): string {
  if (r.failed === 0) return "";
  const c = r.client;
  const answers = Object.entries(c.statuses).filter(([status]) => status !== "200").map(([s, n]) => `${s}: ${n}`);
  return ` (${[...answers, ...(c.connectionErrors ? [`no answer: ${c.connectionErrors}`] : [])].join(", ")})`;
}

function runsWhilePosting(r: ScenarioResult): number {
  const { measuredFrom: from, measuredMs } = r.server;
  return r.server.maintenanceRuns.filter((t) => t >= from && t <= from + measuredMs).length;
}

export function scenarioLines(r: ScenarioResult): string[] {
  const wire = r.wireBytesPerFlow === null ? "" : `, ${r.wireBytesPerFlow.toFixed(1)} B per flow record on the wire`;
  const t = r.totals;
  return [
    `ingest ${label(r)} ${(r.runMs / 1000).toFixed(0)} s: p50 ${ms(r.p50)}  p99 ${ms(r.p99)}  max ${ms(r.max)}  ` +
    `${r.batchesPerSec.toFixed(1)} batches/s  ${int(r.recordsPerSec)} records/s  ${r.failed} failed${failures(r)}`,
    `  server (${r.server.runtime}): CPU ${r.cpuPerBatchMs.toFixed(2)} ms per batch (${
      (r.serverCpu * 100).toFixed(0)
    } % of a core), ${r.server.batchesPerCommit.toFixed(2)} batches per commit, loop delay p99 ${ms(r.loopP99)}; ` +
    `in the server p99 ${ms(r.server.acceptedMs.p99)}; ` +
    `database ${int(r.dbBytesPerNodeHour / 1024)} KiB per node-hour${wire}; joins ${(r.joinMs / 1000).toFixed(1)} s; ` +
    `maintenance ran ${runsWhilePosting(r)} times meanwhile; ` +
    `totals exact on ${t.exact} of ${t.nodes} nodes${t.differences.length ? `: ${t.differences.join("; ")}` : ""}`,
    ...r.server.boundaries.map((b) => boundaryLine(b, r.server.measuredFrom)),
  ];
}

/** The comparison scenarios (the first node count): plain JSON and compact under Node, compact under Deno. */
export interface Comparison {
  json?: ScenarioResult;
  compact?: ScenarioResult;
  deno?: ScenarioResult;
}

/** The targets' lines, and whether every target that was measured is met. */
export function targetLines(c: Comparison, long?: ScenarioResult): { lines: string[]; met: boolean } {
  const lines: string[] = [];
  let met = true;
  const target = (ok: boolean, text: string) => {
    met &&= ok;
    lines.push(`target: ${text}: ${word(ok)}`);
  };
  const { json, compact, deno } = c;
  if (json && compact) {
    const r = json.cpuPerBatchMs / compact.cpuPerBatchMs;
    target(
      r >= TARGETS.cpuRatio,
      `server CPU per batch at ${compact.nodes} nodes, plain JSON ÷ compact ${r.toFixed(2)} (${
        json.cpuPerBatchMs.toFixed(2)
      } ÷ ${compact.cpuPerBatchMs.toFixed(2)} ms; at least ${TARGETS.cpuRatio})`,
    );
  }
  if (compact?.wireBytesPerFlow != null) {
    const plain = json?.wireBytesPerFlow == null ? "" : `; plain JSON ${json.wireBytesPerFlow.toFixed(1)} B`;
    target(
      compact.wireBytesPerFlow <= TARGETS.wireBytesPerFlow,
      `compact ${
        compact.wireBytesPerFlow.toFixed(1)
      } B per flow record on the wire (at most ${TARGETS.wireBytesPerFlow} B${plain})`,
    );
  }
  if (compact) {
    target(
      compact.p99 < TARGETS.p99Ms,
      `${compact.nodes} nodes (compact) p99 ${ms(compact.p99)} (under ${TARGETS.p99Ms} ms)`,
    );
  }
  if (long) {
    const crossed = long.server.boundaries.some((b) => b.rollupRunAt !== null);
    const exact = long.totals.exact === long.totals.nodes;
    target(
      long.p99 < TARGETS.longP99Ms && long.failed === 0 && crossed && exact,
      `${long.nodes} nodes for ${(long.runMs / 1000).toFixed(0)} s, p99 ${
        ms(long.p99)
      } (under ${TARGETS.longP99Ms} ms), ` +
        `${long.failed} failed (none), ${
          crossed ? "across the 1 h rollup boundary" : "NO 1 h rollup boundary inside (run at least 12 minutes)"
        }, totals exact on ${long.totals.exact} of ${long.totals.nodes} nodes`,
    );
  }
  if (compact && deno) {
    lines.push(
      `Deno ÷ Node, control plane at ${compact.nodes} nodes (compact): p50 ${ratio(deno.p50, compact.p50)}, ` +
        `p99 ${ratio(deno.p99, compact.p99)}, max ${ratio(deno.max, compact.max)}, ` +
        `batches/s ${ratio(deno.batchesPerSec, compact.batchesPerSec)}, ` +
        `CPU per batch ${ratio(deno.cpuPerBatchMs, compact.cpuPerBatchMs)}, ` +
        `loop delay p99 ${ratio(deno.loopP99, compact.loopP99)}, ` +
        `database per node-hour ${ratio(deno.dbBytesPerNodeHour, compact.dbBytesPerNodeHour)}; ` +
        `failed ${deno.failed} and ${compact.failed}`,
    );
  }
  return { lines, met };
}
