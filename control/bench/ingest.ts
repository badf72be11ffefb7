// SPDX-License-Identifier: Apache-2.0
/**
 * Ingest benchmark: `npx tsx control/bench/ingest.ts` (part of `npm run bench`).
 *
 * The real control plane runs in a process of its own (ingest-server.ts: a fresh libSQL file database on
 * loopback, served as control/main.ts serves it, with the once-only work control/main.ts runs: rollups and
 * retention at the configured interval, lb retention, alert evaluation), so its CPU time is its own. The
 * simulated agents run in another (ingest-clients.ts): each node joins, then makes a batch every BENCH_INTERVAL
 * seconds (staggered evenly) with its pods, flow, TCP and drop records, a few interfaces, monitoring stats and an
 * inventory (simulated-node.ts), and sends it as the agent does, in the scenario's encoding: compact + gzip with
 * the parts the control plane holds sent by hash (wire version 4), or plain JSON (before it); a refused batch is
 * kept and sent again after the Retry-After. After every scenario each node's totals in the database are checked
 * against what it made (ingest-totals.ts): nothing lost, nothing twice.
 *
 * Scenarios, in this order:
 * 1. the first of BENCH_NODES (1,000) three times side by side: plain JSON and compact under Node, and compact
 *    with the control plane under Deno (with `deno task control`'s permissions);
 * 2. the others of BENCH_NODES (2,500), compact, Node;
 * 3. BENCH_LONG_NODES (5,000) for BENCH_LONG_SECONDS (750): long enough that a ten-minute boundary, where the
 *    1 h rollup takes ten minutes of rows at once, and the maintenance run after it fall inside;
 * 4. overload (ingest-overload.ts): three times the nodes this machine holds, so the control plane must shed.
 *
 * Per scenario: client p50/p99/max, batches and records (flow + TCP + drop) per second, server CPU per batch,
 * event-loop delay p99, database growth per node-hour, bytes per flow record on the wire, failures, totals; the
 * ten-minute boundaries inside it. Then the targets of issue 18 (ingest-report.ts), met or NOT met, and Deno ÷
 * Node. The exit status is 1 when a target is not met.
 *
 * Environment: BENCH_QUICK=1 makes every scenario short, for trying (15 s, the long one 30 s, 120 s to drain);
 * BENCH_SECONDS (40, per scenario), BENCH_NODES ("1000,2500"), BENCH_LONG_NODES (5000), BENCH_LONG_SECONDS
 * (750; 0 skips it), BENCH_PODS (20), BENCH_FLOWS (200 flow records per batch), BENCH_INTERFACES (5),
 * BENCH_INTERVAL (10); for the overload scenario BENCH_CAPACITY_NODES (what this machine holds, see
 * ingest-overload.ts), BENCH_OVERLOAD (the multiple of it offered, 3; 0 skips it) and BENCH_DRAIN_SECONDS (600:
 * how long the nodes may take to deliver their spools once the load drops); BENCH_PROFILE_DIR=dir writes a CPU
 * profile of the control plane over each scenario's measured part (Node only: cpu-profile.ts). The control
 * plane runs with its defaults, but EBPF_K8S_* are taken as it takes them (control/config.ts), to try other
 * settings (e.g. EBPF_K8S_MAINTENANCE_INTERVAL, EBPF_K8S_INGEST_*).
 */
import { CAPACITY_NODES, overloadReport } from "./ingest-overload.ts";
import { type Comparison, scenarioLines, targetLines } from "./ingest-report.ts";
import type { Scenario, ScenarioResult } from "./ingest-result.ts";
import { runScenario, type ScenarioSettings } from "./ingest-scenario.ts";
import { batchFor, inventoryFor, type NodeShape, recordsOf } from "./simulated-node.ts";

const QUICK = process.env.BENCH_QUICK === "1";
const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const SECONDS = env("BENCH_SECONDS", QUICK ? 15 : 40);
const NODE_COUNTS = (process.env.BENCH_NODES ?? "1000,2500").split(",").filter((n) => n !== "").map(Number);
const LONG_NODES = env("BENCH_LONG_NODES", 5000);
const LONG_SECONDS = env("BENCH_LONG_SECONDS", QUICK ? 30 : 750);
const SHAPE: NodeShape = {
  pods: env("BENCH_PODS", 20),
  flows: env("BENCH_FLOWS", 200),
  interfaces: env("BENCH_INTERFACES", 5),
};
const INTERVAL_S = env("BENCH_INTERVAL", 10);
const CAPACITY = env("BENCH_CAPACITY_NODES", CAPACITY_NODES);
const OVERLOAD = env("BENCH_OVERLOAD", 3);
const SETTINGS: ScenarioSettings = {
  shape: SHAPE,
  intervalS: INTERVAL_S,
  drainS: env("BENCH_DRAIN_SECONDS", QUICK ? 120 : 600),
  env: Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith("EBPF_K8S_") && !!e[1]),
  ),
};

const long = LONG_SECONDS > 0 && LONG_NODES > 0 ? `, ${LONG_NODES} nodes for ${LONG_SECONDS} s` : "";
console.log(
  `== control plane ingest (loopback, libSQL file DB, WAL; ${SECONDS} s per scenario${long}` +
    `${QUICK ? "; BENCH_QUICK" : ""}) ==`,
);
const sample = batchFor(0, 2, crypto.randomUUID(), 1, INTERVAL_S, inventoryFor(SHAPE.interfaces), SHAPE);
console.log(
  `   a batch: ${recordsOf(sample)} records = flow + TCP + drop (${sample.flows!.length} + ${sample.tcp!.length} + ` +
    `${sample.drops!.length}); also ${SHAPE.pods} pods, ${SHAPE.interfaces} interfaces, monitoring stats and an ` +
    `inventory (${(JSON.stringify(sample).length / 1024).toFixed(0)} KiB as plain JSON); one per node every ` +
    `${INTERVAL_S} s`,
);

async function run(scenario: Scenario): Promise<ScenarioResult> {
  const r = await runScenario(scenario, SETTINGS);
  for (const line of scenarioLines(r)) console.log(line);
  return r;
}

const results: ScenarioResult[] = [];
const comparison: Comparison = {};
const [first, ...others] = NODE_COUNTS;
if (first !== undefined) {
  const at = { nodes: first, seconds: SECONDS };
  comparison.json = await run({ ...at, encoding: "json", runtime: "node" });
  comparison.compact = await run({ ...at, encoding: "compact", runtime: "node" });
  comparison.deno = await run({ ...at, encoding: "compact", runtime: "deno" });
  results.push(comparison.json, comparison.compact, comparison.deno);
}
for (const nodes of others) results.push(await run({ nodes, seconds: SECONDS, encoding: "compact", runtime: "node" }));
const busiest = others.at(-1);
if (busiest !== undefined) {
  // A batch read and valid hands its admission slot on while it waits for its commit (control/ingest/admission.ts),
  // so that batches share commits; side by side, the same load with the slot held to the commit.
  const handed = results.at(-1)!;
  const held = await run({
    nodes: busiest,
    seconds: SECONDS,
    encoding: "compact",
    runtime: "node",
    env: { EBPF_K8S_INGEST_MAX_STORING: "0" },
  });
  results.push(held);
  const x = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(2)}x` : `${a} ÷ ${b}`);
  console.log(
    `   slot handed on while a batch waits for its commit ÷ held to the commit, ${busiest} nodes: ` +
      `batches/s ${x(handed.batchesPerSec, held.batchesPerSec)}, CPU per batch ${
        x(handed.cpuPerBatchMs, held.cpuPerBatchMs)
      }, p99 ${x(handed.p99, held.p99)}, refused ${x(handed.failed, held.failed)}, loop delay p99 ${
        x(handed.loopP99, held.loopP99)
      }`,
  );
}
let longRun: ScenarioResult | undefined;
if (long !== "") {
  if (LONG_SECONDS < 720) console.log(`   (${LONG_SECONDS} s: too short to be sure of a ten-minute boundary inside)`);
  longRun = await run({ nodes: LONG_NODES, seconds: LONG_SECONDS, encoding: "compact", runtime: "node" });
  results.push(longRun);
}

const targets = targetLines(comparison, longRun);
for (const line of targets.lines) console.log(line);
const inexact = results.filter((r) => r.totals.exact !== r.totals.nodes).length;
console.log(`target: totals exact in every scenario (${results.length}): ${inexact === 0 ? "met" : "NOT met"}`);
let met = targets.met && inexact === 0;

if (OVERLOAD > 0) {
  const nodes = Math.round(CAPACITY * OVERLOAD);
  console.log(
    `-- overload: ${nodes} nodes, ${OVERLOAD} x the ${CAPACITY} this machine holds; ${SECONDS} s of batches, ` +
      `then the load drops and the nodes deliver their spools --`,
  );
  const report = overloadReport(
    await runScenario({ nodes, seconds: SECONDS, encoding: "compact", runtime: "node" }, SETTINGS),
    { capacityNodes: CAPACITY, intervalS: INTERVAL_S },
  );
  for (const line of report.lines) console.log(line);
  met &&= report.met;
}
process.exitCode = met ? 0 : 1;
