// SPDX-License-Identifier: Apache-2.0
/**
 * Connection set-up rate to a service VIP with 10 and with 10,000 services:
 * socket load balancing (the lb module on a child cgroup) against an
 * iptables DNAT baseline with a rule per service, what kube-proxy's iptables
 * mode does. Issue 6's targets: the socket LB rate at 10,000 services within
 * 10 % of its rate at 10 (flat), and at least 3× the iptables rate at
 * 10,000 services.
 *
 * Two labs of the same shape (agent/modules/lb/lb_lab.ts: a client and a
 * server namespace joined by a veth pair), so the baseline's conntrack and
 * NAT never sit in the socket LB's path: the socket LB client runs in lab A's
 * child cgroup; the iptables client runs in lab B, whose client namespace
 * holds the rules. Both clients are the compiled lbprobe ("rate": connect
 * and close, cycling over every service's VIP, so the average connection
 * meets the middle of the iptables chain, as in a real cluster), and both
 * servers are lbprobe too. Rounds alternate the four cases, and each case's
 * figure is the median of its rounds.
 *
 * The iptables chains are leaner than kube-proxy's (no masquerade marks, no
 * comments, one endpoint per service): the baseline is, if anything,
 * flattered.
 *
 *   deno run --allow-all agent/bench/lb_connect_rate.ts
 */
import type { LbService } from "../../control/wire/services.ts";
import { testService } from "../modules/lb/fixtures.ts";
import { LbLab } from "../modules/lb/lb_lab.ts";
import { DEFAULT_LB, LbModule } from "../modules/lb/module.ts";
import { run } from "../testing/run.ts";
import { median, row, verdict } from "./report.ts";

const LBPROBE = new URL("../../build/tools/lbprobe", import.meta.url).pathname;
const SERVICE_COUNTS = [10, 10_000] as const;
const ROUNDS = Number(Deno.env.get("BENCH_LB_ROUNDS") ?? 5);
const SECONDS = Number(Deno.env.get("BENCH_LB_SECONDS") ?? 3);
const FIRST_VIP = ip2n("10.96.0.1");
const SERVICE_PORT = 80, BACKEND_PORT = 8080;

function ip2n(ip: string): number {
  return ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
}
const n2ip = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join(".");

/** Services 1..count, VIPs counting up from 10.96.0.1, each with one backend: the server. */
function services(count: number, backendIp: string): LbService[] {
  return Array.from(
    { length: count },
    (_, i) => testService(i + 1, n2ip(FIRST_VIP + i), [{ id: i + 1, ip: backendIp }], {}, BACKEND_PORT),
  );
}

/** kube-proxy's shape: OUTPUT → KUBE-SERVICES (one match per service) → KUBE-SVC-n → KUBE-SEP-n → DNAT. */
function iptablesRules(count: number, backendIp: string): string {
  const lines = ["*nat", ":KUBE-SERVICES - [0:0]"];
  for (let i = 0; i < count; i++) lines.push(`:KUBE-SVC-${i} - [0:0]`, `:KUBE-SEP-${i} - [0:0]`);
  lines.push("-A OUTPUT -j KUBE-SERVICES");
  for (let i = 0; i < count; i++) {
    lines.push(
      `-A KUBE-SERVICES -d ${n2ip(FIRST_VIP + i)}/32 -p tcp -m tcp --dport ${SERVICE_PORT} -j KUBE-SVC-${i}`,
      `-A KUBE-SVC-${i} -j KUBE-SEP-${i}`,
      `-A KUBE-SEP-${i} -p tcp -m tcp -j DNAT --to-destination ${backendIp}:${BACKEND_PORT}`,
    );
  }
  lines.push("COMMIT", "");
  return lines.join("\n");
}

/** Connections per second of one lbprobe rate run; any failed connection makes the figure void. */
async function rate(argv: string[], count: number): Promise<number> {
  const out = await run([
    ...argv,
    LBPROBE,
    "rate",
    n2ip(FIRST_VIP),
    String(SERVICE_PORT),
    String(count),
    String(SECONDS),
  ]);
  const r = JSON.parse(out.stdout) as { attempts: number; seconds: number; errors: Record<string, number> };
  if (Object.keys(r.errors).length) throw new Error(`connections failed: ${JSON.stringify(r.errors)}`);
  return r.attempts / r.seconds;
}

function startServer(lab: LbLab): Deno.ChildProcess {
  return new Deno.Command("ip", {
    args: ["netns", "exec", lab.net.nsB, LBPROBE, "serve-tcp", String(BACKEND_PORT), "server"],
    stdout: "null",
    stderr: "null",
  }).spawn();
}

async function main(): Promise<void> {
  try {
    Deno.statSync(LBPROBE);
  } catch {
    throw new Error(`${LBPROBE} is missing: run npm run setup`);
  }
  const socketLab = await LbLab.create(1);
  const iptablesLab = await LbLab.create(1).catch(async (e) => {
    await socketLab.close();
    throw e;
  });
  const servers: Deno.ChildProcess[] = [];
  const module = new LbModule(socketLab.env(), { ...DEFAULT_LB, cgroup: socketLab.cgroup.path });
  try {
    servers.push(startServer(socketLab), startServer(iptablesLab));
    // after DNAT the kernel routes by the rewritten address, but connect() first needs a route to the VIP
    await run(["ip", "-n", iptablesLab.net.nsA, "route", "add", "10.96.0.0/12", "dev", iptablesLab.net.ifA]);
    module.start({ adopt: false });
    const backendIp = socketLab.backends[0].ip;
    await new Promise((r) => setTimeout(r, 300)); // servers listening

    const socketClient = [
      "sh",
      "-c",
      `echo $$ > ${socketLab.cgroup.path}/cgroup.procs && exec ip netns exec ${socketLab.net.nsA} "$@"`,
      "sh",
    ];
    const iptablesClient = ["ip", "netns", "exec", iptablesLab.net.nsA];
    const figures = new Map<string, number[]>();
    const add = (k: string, v: number) => figures.set(k, [...(figures.get(k) ?? []), v]);
    let version = 0;

    for (const count of SERVICE_COUNTS) {
      const t0 = performance.now();
      const report = module.apply({ version: ++version, services: services(count, backendIp) });
      const applyMs = performance.now() - t0;
      await run(["ip", "netns", "exec", iptablesLab.net.nsA, "iptables-restore"], {
        stdin: iptablesRules(count, backendIp),
      });
      row(
        `programming ${count.toLocaleString("en")} services`,
        `${applyMs.toFixed(0)} ms`,
        `socket LB, ${report.programmed} services, batch map writes`,
      );
      for (let r = 0; r < ROUNDS; r++) {
        add(`socket ${count}`, await rate(socketClient, count));
        add(`iptables ${count}`, await rate(iptablesClient, count));
      }
    }

    const med = (k: string) => median(figures.get(k)!);
    for (const count of SERVICE_COUNTS) {
      for (const how of ["socket", "iptables"]) {
        const k = `${how} ${count}`;
        row(
          `${how === "socket" ? "socket LB" : "iptables DNAT"}, ${count.toLocaleString("en")} services`,
          `${med(k).toFixed(0)} conn/s`,
          `median of ${figures.get(k)!.map((v) => v.toFixed(0)).join(", ")}`,
        );
      }
    }
    const flat = med("socket 10000") / med("socket 10");
    const vsIptables = med("socket 10000") / med("iptables 10000");
    row("socket LB: 10,000 services / 10 services", flat.toFixed(3), verdict(flat, 0.9, "higher"));
    row("socket LB / iptables DNAT at 10,000 services", `${vsIptables.toFixed(2)}×`, verdict(vsIptables, 3, "higher"));
    row(
      "iptables DNAT: 10,000 services / 10 services",
      (med("iptables 10000") / med("iptables 10")).toFixed(3),
      "(what kube-proxy's chain costs)",
    );
  } finally {
    for (const s of servers) {
      try {
        s.kill("SIGKILL");
      } catch { /* gone */ }
      await s.status.catch(() => {});
    }
    module.stop();
    await module.settled();
    await Promise.allSettled([socketLab.close(), iptablesLab.close()]);
  }
}

await main();
