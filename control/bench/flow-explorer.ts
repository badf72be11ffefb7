// SPDX-License-Identifier: Apache-2.0
/**
 * Flow explorer benchmark: `npx tsx control/bench/flow-explorer.ts`.
 *
 * Server time of GET /api/v1/flows as the flow explorer
 * (control/queries/monitoring/flow-explorer.ts: first/last seen, the join on
 * the window's TCP rows for the verdict, a total count) against the same
 * window read as the flows query it replaced (queryFlows: sums and totals
 * only), measured side by side in one run, alternating, over the raw level
 * (the default 5 minutes). Reported as ratios to that baseline: the machine
 * is shared, so absolute times are for context only.
 *
 * Filled directly (monitoring_raw_rows, as the ingest stores them):
 * BENCH_FLOWS_NODES (200) nodes reporting every 10 s for 5 minutes, each
 * report with BENCH_FLOWS_KEYS (25) flow keys and as many TCP rows (clients
 * of the same connections, one in five refused). BENCH_FLOWS_REQUESTS (20)
 * timed queries of each kind after a warm-up.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb } from "../db/client.ts";
import { FLOW_KEYS, TCP_KEYS } from "../monitoring-store/layouts.ts";
import { windowOn } from "../monitoring/rollup.ts";
import { queryFlowExplorer } from "../queries/monitoring/flow-explorer.ts";
import { queryFlows } from "../queries/monitoring/flows.ts";

const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const NODES = env("BENCH_FLOWS_NODES", 200);
const KEYS = env("BENCH_FLOWS_KEYS", 25);
const REQUESTS = env("BENCH_FLOWS_REQUESTS", 20);
const REPORT_MS = 10_000;
const REPORTS = 30;

/** A raw row's entry: the values in the layout's order (control/monitoring-store/layouts.ts). */
const inLayout = (keys: readonly string[], v: Record<string, string | number>) => keys.map((k) => v[k]);

const dir = mkdtempSync(join(tmpdir(), "ebpf-k8s-flow-explorer-"));
const db = await openDb(`file:${join(dir, "bench.db")}`);
try {
  const now = Math.floor(Date.now() / REPORT_MS) * REPORT_MS;
  const started = performance.now();
  const tx = await db.$client.transaction("write");
  for (let r = 0; r < REPORTS; r++) {
    const ts = now - (REPORTS - 1 - r) * REPORT_MS;
    const rows = [];
    for (let n = 0; n < NODES; n++) {
      const client = (k: number) => `pod:${n}-${k % 5}`;
      const server = (k: number) => `pod:${(n + 1 + k) % NODES}-0`;
      const flows = Array.from({ length: KEYS }, (_, k) =>
        inLayout(FLOW_KEYS, {
          ...{ client: client(k), server: server(k), port: 8000 + k, proto: 6, service: "" },
          ...{ fwdPackets: 3, fwdBytes: 300, revPackets: 2, revBytes: 900, tcpFlags: 0x1a },
        }));
      // the clients' rows of the same connections, one in five refused
      const tcp = Array.from({ length: KEYS }, (_, k) =>
        inLayout(TCP_KEYS, {
          ...{ local: client(k), remote: server(k), port: 8000 + k, role: "client", service: "" },
          ...{ opened: 1, failedRefused: k % 5 === 0 ? 1 : 0, failedTimeout: 0, failedOther: 0, closed: 1 },
          ...{ durationMs: 20, retransmits: 0, resetsRx: 0, resetsTx: 0, srttUsSum: 400, srttSamples: 2 },
        }));
      rows.push([`node-${n}`, "b007", ts, JSON.stringify(flows), JSON.stringify(tcp), "[]"]);
    }
    await tx.execute({
      sql: "INSERT INTO monitoring_raw_rows (node, boot_id, ts, flows, tcp, drops) " +
        "SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 FROM json_each(?)",
      args: [JSON.stringify(rows)],
    });
  }
  await tx.commit();
  const w = windowOn("raw", now - 5 * 60_000, now, now);
  const keys = NODES * KEYS;
  console.log(
    `== flow explorer: ${NODES} nodes × ${KEYS} flow keys and TCP rows, ${REPORTS} reports (${
      (NODES * KEYS * REPORTS).toLocaleString("en-US")
    } flow entries), filled in ${((performance.now() - started) / 1000).toFixed(1)} s ==`,
  );

  const page = { sort: "bytes", order: "desc", limit: 500, offset: 0 } as const;
  const kinds = {
    "flows (baseline: the query /api/v1/flows used before)": () => queryFlows(db, w, {}, 500),
    "explorer, default (bytes, 500 rows)": () => queryFlowExplorer(db, w, {}, page),
    "explorer, failures only": () => queryFlowExplorer(db, w, { failures: true }, page),
    "explorer, last seen, page 3 of 50": () =>
      queryFlowExplorer(db, w, {}, { sort: "last_seen", order: "desc", limit: 50, offset: 100 }),
  };
  const check = await queryFlowExplorer(db, w, { failures: true }, page);
  if (check.total !== keys / 5) throw new Error(`expected ${keys / 5} failing flows, got ${check.total}`);
  const times = new Map<string, number[]>(Object.keys(kinds).map((k) => [k, []]));
  for (let i = -2; i < REQUESTS; i++) {
    for (const [name, run] of Object.entries(kinds)) {
      const t0 = performance.now();
      await run();
      if (i >= 0) times.get(name)!.push(performance.now() - t0);
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const base = median(times.values().next().value!);
  for (const [name, xs] of times) {
    console.log(`   ${name.padEnd(56)} median ${median(xs).toFixed(1)} ms  ${(median(xs) / base).toFixed(2)}×`);
  }
} finally {
  db.$client.close();
  rmSync(dir, { recursive: true, force: true });
}
