// SPDX-License-Identifier: Apache-2.0
/**
 * Store-path benchmark: `npx tsx control/bench/store.ts`.
 *
 * What the ingest bench's latencies are made of, without HTTP or a load
 * generator sharing the CPU: simulated nodes' batches (simulated-node.ts)
 * stored with storeBatch, a round (every node once, 10 s of agent time)
 * at a time, and maintenance run after each minute of agent time, as
 * the control plane runs it every minute. Reports the wall ms per batch
 * stored (rounds store every node's batch at once, so they share commits
 * as a busy control plane does) and maintenance's process CPU per minute
 * of data (its wall time is mostly the pauses it takes for ingest).
 * Agent time starts on a ten-minute boundary, so BENCH_STORE_MINUTES ≥ 10
 * includes one 1 h rollup of ten minutes, as a real run has every ten.
 *
 * Profile it with `node --import tsx --cpu-prof control/bench/store.ts`.
 *
 * Environment: BENCH_STORE_NODES (1000), BENCH_STORE_MINUTES (3),
 * BENCH_PODS (20), BENCH_FLOWS (200), BENCH_INTERFACES (5).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openDb } from "../db/client.ts";
import { storeBatch } from "../ingest/store.ts";
import { runMaintenance } from "../monitoring-store/maintenance.ts";
import { DEFAULT_MONITORING_SETTINGS } from "../monitoring-store/settings.ts";
import { batchFor, inventoryFor, type NodeShape } from "./simulated-node.ts";

const env = (name: string, fallback: number) => (process.env[name] ? Number(process.env[name]) : fallback);
const NODES = env("BENCH_STORE_NODES", 1000);
const MINUTES = env("BENCH_STORE_MINUTES", 3);
const SHAPE: NodeShape = {
  pods: env("BENCH_PODS", 20),
  flows: env("BENCH_FLOWS", 200),
  interfaces: env("BENCH_INTERFACES", 5),
};
const INTERVAL_S = 10;
const ROUNDS_PER_MINUTE = 60 / INTERVAL_S;
const TEN_MINUTES = 10 * 60_000;

const cpuMs = (since: NodeJS.CpuUsage) => {
  const c = process.cpuUsage(since);
  return (c.user + c.system) / 1000;
};

const dir = mkdtempSync(join(tmpdir(), "ebpf-k8s-store-bench-"));
try {
  const db = await openDb(`file:${join(dir, "control.db")}`);
  const inventory = inventoryFor(SHAPE.interfaces);
  const boots = Array.from({ length: NODES }, () => crypto.randomUUID());
  // A day back, on a ten-minute boundary: inside every retention, and the 1 h rollup's steps fall on whole minutes.
  const t0 = Math.floor((Date.now() - 86_400_000) / TEN_MINUTES) * TEN_MINUTES;
  const store = { ms: 0, cpu: 0, batches: 0 };
  const maintenance = { cpu: 0, rolled: 0, perMinute: [] as number[] };
  console.log(
    `== store path: ${NODES} nodes, ${MINUTES} min of batches every ${INTERVAL_S} s, maintenance every minute ==`,
  );
  for (let round = 1; round <= MINUTES * ROUNDS_PER_MINUTE; round++) {
    const ts = t0 + round * INTERVAL_S * 1000;
    const batches = boots.map((bootId, n) => ({
      ...batchFor(n, NODES, bootId, round, INTERVAL_S, inventory, SHAPE),
      ts,
    }));
    const [wall, cpu] = [performance.now(), process.cpuUsage()];
    await Promise.all(batches.map((batch) => storeBatch(db, batch, ts)));
    store.ms += performance.now() - wall;
    store.cpu += cpuMs(cpu);
    store.batches += batches.length;
    if (round % ROUNDS_PER_MINUTE === 0) {
      const since = process.cpuUsage();
      const r = await runMaintenance(db, ts + 1, DEFAULT_MONITORING_SETTINGS);
      const took = cpuMs(since);
      maintenance.cpu += took;
      maintenance.rolled += r.rolledBatches;
      maintenance.perMinute.push(took);
    }
  }
  db.$client.close();
  console.log(
    `store    ${(store.ms / store.batches).toFixed(2)} ms wall per batch (${
      (store.cpu / store.batches).toFixed(2)
    } ms CPU), ${store.batches} batches`,
  );
  console.log(
    `maintenance ${
      (maintenance.cpu / 1000 / MINUTES).toFixed(2)
    } s CPU per minute of data (${maintenance.rolled} raw rows; ` +
      `per run: ${maintenance.perMinute.map((ms) => (ms / 1000).toFixed(2)).join(" ")} s)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
