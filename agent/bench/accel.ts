// SPDX-License-Identifier: Apache-2.0
/**
 * Socket acceleration of same-node traffic (issue 7's targets), accelerated
 * against plain, alternated in one run on one lab (agent/modules/accel:
 * a client and a server pod as namespaces joined by a veth pair, every
 * process in a child cgroup of our own):
 *
 * - Redis: redis-benchmark (SET and GET) from the client pod to
 *   redis-server in the server pod, with the bench's own settings (50
 *   clients, 3-byte values) and a sweep of an independent client's (1, 8
 *   and 32 clients, 64-byte values). Targets, for every setting: ≥ 1.5×
 *   requests/s and p50 latency ≤ 0.65× of plain.
 * - Nginx: wrk with keep-alive (16 connections) against an Nginx proxy in
 *   the client pod, in front of an upstream Nginx in the server pod serving a
 *   4 KiB body (the proxy keeps its upstream connections alive). Target:
 *   ≥ 1.3× requests/s.
 *
 * "Accelerated" slices run with the accel module started (rules: the
 * upstream service, Redis and the client pod's label); "plain" ones with it
 * stopped. The machine is shared, so a slice is short (about half a second
 * for Redis), the two modes alternate in pairs whose order flips, the
 * settings interleave, and each ratio is the median of the pairs' ratios.
 * Upstream keep-alive connections idle out (1 s) between Nginx rounds so
 * that each round makes its own.
 *
 * Next to the ratios, what bounds them (docs/load-balancing.md, "Socket acceleration"
 * has the profile): the lab cgroup's CPU time per request (cpu.stat: both
 * processes, user and kernel), which shows what acceleration saves, and the
 * share of the time some lab process waited for a CPU (cpu.pressure "some"),
 * which shows how much of the saving the shared cores let turn into
 * requests per second. A last accelerated slice, not in the ratios, holds
 * bpf_enable_stats for the sk_msg program's own cost per message.
 *
 *   deno run --allow-all agent/bench/accel.ts
 */
import type { LbState } from "../../control/wire/services.ts";
import { enableBpfStats } from "../libbpf/mod.ts";
import { AccelLab, SERVER_IP } from "../modules/accel/accel_lab.ts";
import { redisBenchmark, startNginx, startRedis, UPSTREAM_PORT, wrk } from "../modules/accel/apps.ts";
import { AccelModule, DEFAULT_ACCEL } from "../modules/accel/module.ts";
import { testService } from "../modules/lb/fixtures.ts";
import { median, row, verdict } from "./report.ts";

const PAIRS = Number(Deno.env.get("BENCH_ACCEL_PAIRS") ?? 5);
const NGINX_ROUNDS = Number(Deno.env.get("BENCH_ACCEL_ROUNDS") ?? 4);
/** Requests per test in a Redis slice (a third of it with one client). */
const REQUESTS = Number(Deno.env.get("BENCH_ACCEL_REDIS_REQUESTS") ?? 30_000);
const WRK_SECONDS = Number(Deno.env.get("BENCH_ACCEL_WRK_SECONDS") ?? 3);

const NGINX_RULE = 1, REDIS_RULE = 2;
const STATE: LbState = {
  version: 1,
  services: [
    testService(1, "10.96.9.1", [{ id: 1, ip: SERVER_IP }], {}, UPSTREAM_PORT),
    testService(2, "10.96.9.2", [{ id: 2, ip: SERVER_IP }], {}, 6379),
  ],
  accel: [
    { id: NGINX_RULE, kind: "service", namespace: "test", name: "s1" },
    { id: REDIS_RULE, kind: "service", namespace: "test", name: "s2" },
    { id: 3, kind: "pods", namespace: "test", selector: { app: "client" } },
  ],
};

interface RedisSetting {
  name: string;
  clients: number;
  dataSize: number;
  requests: number;
}

const SETTINGS: RedisSetting[] = [
  { name: "redis -c 50", clients: 50, dataSize: 3, requests: REQUESTS },
  { name: "redis -c 1 -d 64", clients: 1, dataSize: 64, requests: Math.round(REQUESTS / 3) },
  { name: "redis -c 8 -d 64", clients: 8, dataSize: 64, requests: REQUESTS },
  { name: "redis -c 32 -d 64", clients: 32, dataSize: 64, requests: REQUESTS },
];

type Mode = "accel" | "plain";

interface RedisSlice {
  setRps: number;
  getRps: number;
  setP50: number;
  getP50: number;
  setAvg: number;
  getAvg: number;
  /** lab cgroup CPU µs per request */
  cpuPerRequest: number;
  /** share of the slice's time some lab process waited for a CPU */
  cpuWait: number;
}

/** The lab cgroup's CPU time and CPU pressure stall time, µs. */
function cgroupCpu(cgroup: string): { usage: number; stalled: number } {
  const usage = /usage_usec (\d+)/.exec(Deno.readTextFileSync(`${cgroup}/cpu.stat`));
  const stalled = /^some .*total=(\d+)/m.exec(Deno.readTextFileSync(`${cgroup}/cpu.pressure`));
  if (!usage || !stalled) throw new Error(`${cgroup}: no usage_usec in cpu.stat or no "some" line in cpu.pressure`);
  return { usage: Number(usage[1]), stalled: Number(stalled[1]) };
}

const pairOrder = (i: number): Mode[] => i % 2 ? ["plain", "accel"] : ["accel", "plain"];

const lab = await AccelLab.create();
let module: AccelModule | null = null;
try {
  await startRedis(lab);
  await startNginx(lab, { "4k.bin": 4096 });
  const started = Date.now();

  /** Runs `fn` accelerated (module started, then stopped) or plain; an accelerated run must have accelerated connections of `rule`. */
  const inMode = async <T>(mode: Mode, rule: number, fn: (m: AccelModule | null) => Promise<T>): Promise<T> => {
    if (mode === "accel") {
      module = new AccelModule(lab.env(), { ...DEFAULT_ACCEL, cgroup: lab.cgroup });
      module.start({ adopt: false });
      module.apply(STATE);
    }
    try {
      const out = await fn(module);
      if (module && !(module.totals().get(rule)?.[0] ?? 0)) {
        throw new Error(`accelerated run without accelerated connections: ${JSON.stringify([...module.totals()])}`);
      }
      return out;
    } finally {
      module?.stop();
      module = null;
    }
  };

  const redisSlice = async (s: RedisSetting): Promise<RedisSlice> => {
    const before = cgroupCpu(lab.cgroup), t0 = performance.now();
    const r = await redisBenchmark(lab, s.requests, "set,get", s.clients, 1, s.dataSize);
    const after = cgroupCpu(lab.cgroup), us = (performance.now() - t0) * 1000;
    const set = r.tests.get("SET"), get = r.tests.get("GET");
    if (!set || !get) throw new Error(`redis-benchmark ${s.name}: no SET or GET line: ${JSON.stringify([...r.tests])}`);
    return {
      setRps: set.rps,
      getRps: get.rps,
      setP50: set.p50,
      getP50: get.p50,
      setAvg: set.avg,
      getAvg: get.avg,
      cpuPerRequest: (after.usage - before.usage) / (2 * s.requests),
      cpuWait: (after.stalled - before.stalled) / us,
    };
  };

  const redis = new Map(SETTINGS.map((s) => [s.name, { accel: [] as RedisSlice[], plain: [] as RedisSlice[] }]));
  for (let i = 0; i < PAIRS; i++) {
    for (const [j, s] of SETTINGS.entries()) {
      for (const mode of pairOrder(i + j)) {
        redis.get(s.name)![mode].push(await inMode(mode, REDIS_RULE, () => redisSlice(s)));
      }
    }
  }

  const nginx = { accel: [] as { rps: number; errors: number }[], plain: [] as { rps: number; errors: number }[] };
  for (let i = 0; i < NGINX_ROUNDS; i++) {
    for (const mode of pairOrder(i)) {
      nginx[mode].push(await inMode(mode, NGINX_RULE, () => wrk(lab, "/4k.bin", WRK_SECONDS, 16, 2)));
      await new Promise((r) => setTimeout(r, 1500)); // the proxy's idle upstream connections close
    }
  }

  // the sk_msg program's own cost: one more accelerated slice, not in the ratios (the accounting costs a little itself)
  const msgCost = await inMode("accel", REDIS_RULE, async (m) => {
    const stats = enableBpfStats();
    try {
      const prog = () => m!.programs(true).find((p) => p.name === "accel_msg")!;
      const before = prog();
      await redisBenchmark(lab, REQUESTS, "get", 50);
      const after = prog();
      return ((after.runTimeNs ?? 0) - (before.runTimeNs ?? 0)) / ((after.runCount ?? 0) - (before.runCount ?? 0));
    } finally {
      stats.close();
    }
  });

  const ratioOf = <T>(slices: { accel: T[]; plain: T[] }, value: (x: T) => number) =>
    median(slices.accel.map((a, i) => value(a) / value(slices.plain[i])));
  for (const s of SETTINGS) {
    const slices = redis.get(s.name)!;
    const plain = (k: keyof RedisSlice) => median(slices.plain.map((x) => x[k]));
    const ratio = (k: keyof RedisSlice) => ratioOf(slices, (x) => x[k]);
    row(
      `${s.name}, plain (median of ${PAIRS})`,
      `${plain("setRps").toFixed(0)}/${plain("getRps").toFixed(0)} req/s`,
      `SET/GET; p50 ${plain("setP50").toFixed(3)}/${plain("getP50").toFixed(3)} ms`,
    );
    for (
      const [what, k, target, better, note] of [
        ["SET rps", "setRps", 1.5, "higher", ""],
        ["GET rps", "getRps", 1.5, "higher", ""],
        ["SET p50", "setP50", 0.65, "lower", `; mean ${ratio("setAvg").toFixed(2)}x`],
        ["GET p50", "getP50", 0.65, "lower", `; mean ${ratio("getAvg").toFixed(2)}x`],
      ] as const
    ) row(`${s.name} ${what} ratio`, `${ratio(k).toFixed(2)}x`, verdict(ratio(k), target, better) + note);
    row(
      `${s.name} CPU per request ratio`,
      `${ratio("cpuPerRequest").toFixed(2)}x`,
      `plain ${plain("cpuPerRequest").toFixed(1)} µs (server + client, user + kernel)`,
    );
    row(
      `${s.name} time waiting for a CPU, plain/accel`,
      `${(plain("cpuWait") * 100).toFixed(0)}%/${(median(slices.accel.map((x) => x.cpuWait)) * 100).toFixed(0)}%`,
      "cpu.pressure some: the shared cores' part",
    );
  }
  row(`sk_msg program per message (bpf stats)`, `${msgCost.toFixed(0)} ns`);
  const wrkRatio = ratioOf(nginx, (x) => x.rps);
  row(
    `nginx+upstream wrk keep-alive, plain (median of ${NGINX_ROUNDS})`,
    `${median(nginx.plain.map((x) => x.rps)).toFixed(0)} req/s`,
  );
  row("nginx wrk rps ratio", `${wrkRatio.toFixed(2)}x`, verdict(wrkRatio, 1.3, "higher"));
  const errors = [...nginx.accel, ...nginx.plain].reduce((a, r) => a + r.errors, 0);
  row("wrk errors (all rounds)", String(errors), errors ? "ERRORS" : "");
  row("accel bench duration", `${((Date.now() - started) / 1000).toFixed(0)} s`);
} finally {
  (module as AccelModule | null)?.stop();
  await lab.close();
}
