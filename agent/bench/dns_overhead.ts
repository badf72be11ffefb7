// SPDX-License-Identifier: Apache-2.0
/**
 * What the dns module costs the pods (issue 20), its programs on the pods'
 * host veths (DnsModule, as the agent attaches it) against none (detached),
 * alternated round by round so that both see the same machine:
 *
 *   1. pod-to-pod TCP throughput, iperf3 (one stream), p1 -> p2: packets that
 *      are not DNS, the cost every pod pays. Target: on / off >= 0.98.
 *   2. queries per second answered through a resolver: dnsperf in p1 (as
 *      fast as the resolver answers, 100 queries outstanding) against
 *      dnsmasq in p2 (dns_lab.ts: a hosts file of the bench's names, no
 *      upstream). Target: on / off >= 0.97. After each run with the module
 *      on, its reading must hold exactly the queries dnsperf sent (it counted
 *      them all, not a sample).
 *
 * The verdict is on the median of the rounds' ratios (each round's pair
 * measured one right after the other); the rounds' spread is printed beside.
 * In namespaces of its own (pod_bench.ts); nothing leaves the machine. Needs
 * iperf3, dnsmasq and dnsperf (scripts/setup.sh installs them).
 *   deno run --allow-all agent/bench/dns_overhead.ts
 *   (BENCH_ROUNDS, BENCH_SECONDS: fewer or shorter for a quick look)
 */
import { DnsModule } from "../modules/dns/module.ts";
import { DnsLab } from "../modules/dns/dns_lab.ts";
import type { Reading } from "../modules/module.ts";
import { enableBpfStats, pathExists } from "../libbpf/mod.ts";
import { output } from "../testing/run.ts";
import { type OnOff, onOffRatios, type PodBench, ROUNDS, SECONDS, withPodBench } from "./pod_bench.ts";
import { median, row, verdict } from "./report.ts";

const DNSPERF = Deno.env.get("DNSPERF") ?? "/usr/bin/dnsperf";
/** Distinct names dnsperf cycles through (all in the resolver's hosts file: every answer NOERROR from memory). */
const NAMES = 100;
/** dnsperf's queries in flight: enough to keep dnsmasq (one thread) busy. */
const OUTSTANDING = 100;

const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const spread = (xs: number[]) => `rounds ${Math.min(...xs).toFixed(3)}-${Math.max(...xs).toFixed(3)}`;

/** Rows of one on/off comparison: both medians, then the median of the rounds' ratios against `target`. */
function report(what: string, short: string, s: OnOff, unit: (x: number) => string, target: number): void {
  const r = onOffRatios(s);
  const note = `median of ${ROUNDS} x ${SECONDS} s`;
  row(`${what}, dns module off`, unit(median(s.off)), note);
  row(`${what}, dns module on`, unit(median(s.on)), `${note}, alternated`);
  row(
    `ratio ${short} dns on / off`,
    r.median.toFixed(3),
    `${verdict(r.median, target, "higher")}; ${spread(r.rounds)}`,
  );
}

async function throughput(b: PodBench): Promise<void> {
  await b.iperf3Server("p2");
  await b.iperf3("p1", "p2"); // warm-up
  const bps = await b.alternate([new DnsModule(b.env("dns"))], () => b.iperf3("p1", "p2"));
  report("iperf3 pod to pod", "iperf3", bps, (x) => `${(x / 1e9).toFixed(2)} Gbit/s`, 0.98);
}

interface DnsperfRun {
  sent: number;
  completed: number;
  /** Answered queries per second, as dnsperf computes it (completed / run time). */
  qps: number;
}

/** dnsperf's summary: the numbers of "Queries sent:", "Queries completed:" and "Queries per second:". */
function parseDnsperf(out: string): DnsperfRun {
  const field = (name: string) => {
    const m = new RegExp(`^\\s*Queries ${name}:\\s+([0-9.]+)`, "m").exec(out);
    if (!m) throw new Error(`dnsperf printed no "Queries ${name}:":\n${out}`);
    return Number(m[1]);
  };
  return { sent: field("sent"), completed: field("completed"), qps: field("per second") };
}

async function queriesPerSecond(b: PodBench): Promise<void> {
  const lab = await DnsLab.over(b.net);
  try {
    const names = Array.from({ length: NAMES }, (_, i) => `h${i}.bench.lab`);
    await lab.resolver("p2", { hosts: Object.fromEntries(names.map((n, i) => [n, `10.244.1.${i + 1}`])) });
    const queries = `${lab.dir}/dnsperf-queries`;
    await Deno.writeTextFile(queries, names.map((n) => `${n} A\n`).join(""));
    const [client, server] = [b.net.pod("p1"), b.net.pod("p2")];
    const runs: DnsperfRun[] = [];
    const dnsperf = async () => {
      const args = ["-s", server.ip, "-d", queries, "-l", String(SECONDS), "-q", String(OUTSTANDING), "-t", "1"];
      const run = parseDnsperf(await output(b.net.in("p1", [DNSPERF, ...args])));
      runs.push(run);
      return run;
    };
    await dnsperf(); // warm-up
    /** Per run with the module on: [queries dnsperf sent, queries the module counted from p1 to the resolver]. */
    const counted: [number, number][] = [];
    const qps = await b.alternate(
      [new DnsModule(b.env("dns"))],
      async () => (await dnsperf()).qps,
      ([r]: Reading[]) => {
        const mine = (r.dns?.servers ?? []).filter((s) => s.pod === client.uid && s.server === server.ip);
        counted.push([runs.at(-1)!.sent, sum(mine.flatMap((s) => s.queries))]);
      },
    );
    report("dnsperf to dnsmasq, answered q/s", "dnsperf q/s", qps, (x) => `${Math.round(x)} q/s`, 0.97);
    await programCost(b, dnsperf);
    const lost = runs.map((r) => 1 - r.completed / r.sent);
    row("dnsperf queries not answered", `${(100 * Math.max(...lost)).toFixed(2)} %`, "the worst run");
    const exact = counted.every(([sent, n]) => sent === n);
    row(
      "queries counted by the dns module",
      exact ? "= sent" : "DIFFER",
      `${counted.length} runs on, ${sum(counted.map(([s]) => s))} queries` +
        (exact ? "" : `: sent/counted ${counted.map(([s, n]) => `${s}/${n}`).join(", ")}`),
    );
  } finally {
    await lab.close();
  }
}

/**
 * Where the difference goes: one more dnsperf run with the module on, not in
 * the ratios (the kernel's run-time accounting, bpf_enable_stats, costs a
 * little itself): the DNS programs' time per packet, in place (both pods'
 * veths, queries and answers and what passes the resolver's side), and per
 * answered query, and that as a share of one core at the run's rate.
 */
async function programCost(b: PodBench, dnsperf: () => Promise<DnsperfRun>): Promise<void> {
  const dns = new DnsModule(b.env("dns"));
  const { ns, runs, run } = await b.withOn([dns], async () => {
    const stats = enableBpfStats();
    try {
      const total = () => {
        const ps = dns.programs(true);
        return { ns: sum(ps.map((p) => p.runTimeNs ?? 0)), runs: sum(ps.map((p) => p.runCount ?? 0)) };
      };
      const before = total();
      const run = await dnsperf();
      const after = total();
      return { ns: after.ns - before.ns, runs: after.runs - before.runs, run };
    } finally {
      stats.close();
    }
  });
  const perQuery = ns / run.completed;
  row("dns programs in place, per packet", `${(ns / runs).toFixed(0)} ns`, `${runs} runs, bpf_enable_stats on`);
  row(
    "dns programs per answered query",
    `${(perQuery / 1000).toFixed(2)} µs`,
    `${(100 * perQuery * run.qps / 1e9).toFixed(1)} % of one core at that run's ${Math.round(run.qps)} q/s`,
  );
}

export async function benchDnsOverhead(): Promise<void> {
  if (!pathExists(DNSPERF)) {
    throw new Error(`${DNSPERF} not found (Debian package dnsperf; scripts/setup.sh installs it)`);
  }
  await withPodBench(2, throughput);
  await withPodBench(2, queriesPerSecond);
}

if (import.meta.main) await benchDnsOverhead();
