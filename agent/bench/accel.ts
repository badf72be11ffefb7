/**
 * Socket acceleration of same-node traffic (issue 7's targets), accelerated
 * against plain, alternated in one run on one lab (agent/modules/accel:
 * a client and a server pod as namespaces joined by a veth pair, every
 * process in a child cgroup of our own):
 *
 * - Redis: redis-benchmark (50 clients, SET and GET) from the client pod to
 *   redis-server in the server pod. Targets: ≥ 1.5× requests/s and p50
 *   latency ≤ 0.65× of plain.
 * - Nginx: wrk with keep-alive (16 connections) against an Nginx proxy in
 *   the client pod, in front of an upstream Nginx in the server pod serving a
 *   4 KiB body (the proxy keeps its upstream connections alive). Target:
 *   ≥ 1.3× requests/s.
 *
 * "Accelerated" rounds run with the accel module started (rules: the
 * upstream service and the client pod's label); "plain" rounds with it
 * stopped. Each figure is the median of its rounds; rounds alternate the
 * order. Upstream keep-alive connections idle out (1 s) between rounds so
 * that each round makes its own.
 *
 *   deno run --allow-all agent/bench/accel.ts
 */
import type { LbState } from "../../control/wire/services.ts";
import { AccelLab, SERVER_IP } from "../modules/accel/accel_lab.ts";
import { redisBenchmark, startNginx, startRedis, UPSTREAM_PORT, wrk } from "../modules/accel/apps.ts";
import { AccelModule, DEFAULT_ACCEL } from "../modules/accel/module.ts";
import { testService } from "../modules/lb/fixtures.ts";
import { median, row, verdict } from "./report.ts";

const ROUNDS = Number(Deno.env.get("BENCH_ACCEL_ROUNDS") ?? 5);
const REQUESTS = Number(Deno.env.get("BENCH_ACCEL_REDIS_REQUESTS") ?? 100_000);
const WRK_SECONDS = Number(Deno.env.get("BENCH_ACCEL_WRK_SECONDS") ?? 3);

const STATE: LbState = {
  version: 1,
  services: [
    testService(1, "10.96.9.1", [{ id: 1, ip: SERVER_IP }], {}, UPSTREAM_PORT),
    testService(2, "10.96.9.2", [{ id: 2, ip: SERVER_IP }], {}, 6379),
  ],
  accel: [
    { id: 1, kind: "service", namespace: "test", name: "s1" },
    { id: 2, kind: "service", namespace: "test", name: "s2" },
    { id: 3, kind: "pods", namespace: "test", selector: { app: "client" } },
  ],
};

interface Round {
  setRps: number;
  getRps: number;
  setP50: number;
  getP50: number;
  wrkRps: number;
  wrkErrors: number;
}

const lab = await AccelLab.create();
let module: AccelModule | null = null;
try {
  await startRedis(lab);
  await startNginx(lab, { "4k.bin": 4096 });
  const results: Record<"accel" | "plain", Round[]> = { accel: [], plain: [] };
  const once = async (mode: "accel" | "plain") => {
    if (mode === "accel") {
      module = new AccelModule(lab.env(), { ...DEFAULT_ACCEL, cgroup: lab.cgroup });
      module.start({ adopt: false });
      module.apply(STATE);
    }
    try {
      const r = await redisBenchmark(lab, REQUESTS, "set,get", 50);
      const w = await wrk(lab, "/4k.bin", WRK_SECONDS, 16, 2);
      const set = r.tests.get("SET")!, get = r.tests.get("GET")!;
      results[mode].push({
        setRps: set.rps,
        getRps: get.rps,
        setP50: set.p50,
        getP50: get.p50,
        wrkRps: w.rps,
        wrkErrors: w.errors,
      });
      if (mode === "accel") {
        const t = module!.totals();
        if (!(t.get(2)?.[0] ?? 0) || !(t.get(1)?.[0] ?? 0)) {
          throw new Error(`accelerated round without accelerated connections: ${JSON.stringify([...t])}`);
        }
      }
    } finally {
      module?.stop();
      module = null;
    }
    await new Promise((r) => setTimeout(r, 1500)); // the proxy's idle upstream connections close
  };
  for (let i = 0; i < ROUNDS; i++) {
    for (const mode of i % 2 ? (["plain", "accel"] as const) : (["accel", "plain"] as const)) await once(mode);
  }
  const m = (mode: "accel" | "plain", k: keyof Round) => median(results[mode].map((r) => r[k]));
  for (
    const [name, k, unit] of [
      ["redis SET", "setRps", "req/s"],
      ["redis GET", "getRps", "req/s"],
      ["redis SET p50", "setP50", "ms"],
      ["redis GET p50", "getP50", "ms"],
      ["nginx+upstream wrk keep-alive", "wrkRps", "req/s"],
    ] as const
  ) {
    row(`${name}, plain (median of ${ROUNDS})`, `${m("plain", k).toFixed(k.endsWith("P50") ? 3 : 0)} ${unit}`);
    row(`${name}, accelerated`, `${m("accel", k).toFixed(k.endsWith("P50") ? 3 : 0)} ${unit}`);
  }
  const ratio = (k: keyof Round) => m("accel", k) / m("plain", k);
  row("redis SET rps ratio", `${ratio("setRps").toFixed(2)}x`, verdict(ratio("setRps"), 1.5, "higher"));
  row("redis GET rps ratio", `${ratio("getRps").toFixed(2)}x`, verdict(ratio("getRps"), 1.5, "higher"));
  row("redis SET p50 ratio", `${ratio("setP50").toFixed(2)}x`, verdict(ratio("setP50"), 0.65, "lower"));
  row("redis GET p50 ratio", `${ratio("getP50").toFixed(2)}x`, verdict(ratio("getP50"), 0.65, "lower"));
  row("nginx wrk rps ratio", `${ratio("wrkRps").toFixed(2)}x`, verdict(ratio("wrkRps"), 1.3, "higher"));
  const errors = [...results.accel, ...results.plain].reduce((a, r) => a + r.wrkErrors, 0);
  row("wrk errors (all rounds)", String(errors), errors ? "ERRORS" : "");
} finally {
  (module as AccelModule | null)?.stop();
  await lab.close();
}
