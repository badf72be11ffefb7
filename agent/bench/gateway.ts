// SPDX-License-Identifier: Apache-2.0
/**
 * The gateway (issue 8):
 *
 *   1. ns/packet through BPF_PROG_TEST_RUN of gw_xdp next to an empty XDP
 *      program in the same run: a tracked flow's packet (translated and
 *      redirected: a route and a static neighbour in a namespace of ours),
 *      a new flow's first packet (backend choice, SNAT port, two LRU
 *      inserts; each frame a new flow, so one run each, both programs timed
 *      by the kernel alike), and a packet for no gateway address.
 *      Targets: tracked <= 100 ns/packet; non-VIP <= 1.5x the empty program.
 *      The tracked flow also through gateway_noexpiry.bpf.o (the same program
 *      without its per-packet expiry bookkeeping), side by side: its cost.
 *      New flows to one backend until the default SNAT range is full, with
 *      and without that bookkeeping: flows/s while it fills, a flow when it
 *      is nearly full (the scan), a refusal when it is full.
 *   2. iperf3 (one stream) from the lab's outside namespace to a backend,
 *      straight (routed by the node, no gateway program) and through the
 *      gateway (external IP) in XDP generic mode and in tc on the lab's
 *      veths: UDP in all three, TCP straight and through tc, alternated in
 *      every round.
 *
 *   deno run --allow-all agent/bench/gateway.ts
 */
import type { LbState } from "../../control/wire/services.ts";
import { BpfObject, type BpfProgram, withNetns } from "../libbpf/mod.ts";
import { frame, XDP, xdpCtx } from "../modules/gateway/frames.ts";
import { gatewayState } from "../modules/gateway/frontends.ts";
import { GatewayLab, LAB } from "../modules/gateway/gateway_lab.ts";
import {
  DEFAULT_GATEWAY,
  GATEWAY_OBJECT,
  GatewayModule,
  loadGateway,
  readCounters,
  writeDests,
} from "../modules/gateway/module.ts";
import { createVethPair } from "../testing/netns.ts";
import { run } from "../testing/run.ts";
import { median, row, verdict } from "./report.ts";
import { BPF_DIR, REPEAT, ROUNDS } from "./test_runs.ts";

const EXT = "10.244.99.7", NODE = "10.244.250.1";
/** bpf/gateway.bpf.c built with GW_NO_EXPIRY (scripts/build-bpf.sh): the gateway without its per-packet expiry bookkeeping, to measure what it costs. */
const NOEXPIRY_OBJECT = "gateway_noexpiry.bpf.o";
// new flows to one service's three backends: each backend takes at most the SNAT range's 4536 flows at once
const NEW_FLOWS = Number(Deno.env.get("BENCH_GW_NEW_FLOWS") ?? 3000);
const IPERF_ROUNDS = Number(Deno.env.get("BENCH_GW_IPERF_ROUNDS") ?? 3);
const IPERF_SECONDS = Number(Deno.env.get("BENCH_GW_IPERF_SECONDS") ?? 3);

function benchState(backends: string[], port: number, backendPort: number, protocol: "TCP" | "UDP" = "TCP"): LbState {
  return {
    version: 1,
    services: [{
      id: 1,
      namespace: "bench",
      name: "web",
      portName: "",
      vip: "10.96.0.10",
      port,
      protocol,
      affinity: "none",
      affinityTimeoutS: 10800,
      tableSize: 251,
      type: "ClusterIP",
      externalIPs: [EXT],
      backends: backends.map((ip, i) => ({ id: i + 1, ip, port: backendPort, weight: 1, state: "active" as const })),
    }],
  };
}

async function testRuns(): Promise<void> {
  const net = await createVethPair(); // nsA: the node, with the backends behind 10.244.250.2
  let empty: BpfObject | null = null, gw: BpfObject | null = null;
  try {
    empty = BpfObject.open(`${BPF_DIR}empty_xdp.bpf.o`);
    await run(["ip", "-n", net.nsA, "route", "add", "10.244.7.0/24", "via", net.ipB]);
    await run(["ip", "netns", "exec", net.nsA, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
    empty.load();
    const g = loadGateway(BPF_DIR, { ...DEFAULT_GATEWAY, flowEntries: 1 << 17 }, NODE);
    gw = g.obj;
    writeDests(gw, { external: [EXT], addresses: [NODE], snatIp: NODE }, true);
    g.programmer.apply(
      gatewayState(benchState(["10.244.7.11", "10.244.7.12", "10.244.7.13"], 80, 8080)),
      performance.now(),
    );
    writeDests(gw, { external: [EXT], addresses: [NODE], snatIp: NODE });
    const progs = { empty: empty.program("empty_xdp"), gw: gw.program("gw_xdp") };
    const runOn = (p: keyof typeof progs, f: Uint8Array, repeat: number) =>
      withNetns(net.nsA, () => progs[p].testRun({ data: f, repeat, ctx: xdpCtx(f.length, net.ifindexA) }));

    const tracked = frame({
      src: "192.0.2.10",
      dst: EXT,
      proto: "tcp",
      sport: 40000,
      dport: 80,
      tcpFlags: 0x10,
      payload: new Uint8Array(10),
    });
    const first = runOn("gw", tracked, 1);
    if (first.retval !== XDP.REDIRECT) {
      throw new Error(`gateway bench: a VIP packet was not redirected (verdict ${first.retval})`);
    }
    // a packet for no gateway address stays as it is, so repeat runs measure it
    const other = frame({
      src: "192.0.2.10",
      dst: "10.1.2.3",
      proto: "tcp",
      sport: 40000,
      dport: 80,
      tcpFlags: 0x10,
      payload: new Uint8Array(10),
    });
    const ns = { empty: [] as number[], other: [] as number[] };
    for (let r = 0; r < ROUNDS; r++) {
      ns.empty.push(runOn("empty", other, REPEAT).durationNs);
      ns.other.push(runOn("gw", other, REPEAT).durationNs);
    }
    const e = median(ns.empty), o = median(ns.other);
    row("XDP empty program (BPF_PROG_TEST_RUN)", `${e.toFixed(1)} ns/pkt`, `median of ${ROUNDS} x ${REPEAT}`);
    row(
      "gateway: packet for no gateway address",
      `${o.toFixed(1)} ns/pkt`,
      `${(o / e).toFixed(2)}x empty, ${verdict(o / e, 1.5, "lower")}`,
    );

    // A translated packet is no longer a VIP packet, and test_run does not restore the frame between
    // repetitions: single runs (cold caches between the calls; the kernel's timer around one run costs
    // more than a packet) next to the empty program run alike give an upper bound of the program's own cost.
    const one = (f: (i: number) => Uint8Array, n: number) => {
      const gwNs: number[] = [], emptyNs: number[] = [];
      withNetns(net.nsA, () => {
        for (let i = 0; i < n; i++) {
          const fr = f(i);
          const ctx = xdpCtx(fr.length, net.ifindexA);
          emptyNs.push(progs.empty.testRun({ data: fr, repeat: 1, ctx }).durationNs);
          const r = progs.gw.testRun({ data: fr, repeat: 1, ctx });
          if (r.retval !== XDP.REDIRECT) {
            throw new Error(`gateway bench: frame ${i} not redirected (verdict ${r.retval})`);
          }
          gwNs.push(r.durationNs);
        }
      });
      return { gw: median(gwNs), empty: median(emptyNs) };
    };
    const t = one(() => tracked, NEW_FLOWS);
    row(
      "gateway: tracked flow, one run each (cold)",
      `${(t.gw - t.empty).toFixed(1)} ns`,
      `over the empty program run alike (${t.empty.toFixed(1)} ns); median of ${NEW_FLOWS}`,
    );

    // Repeat runs of a tracked flow: a gateway whose translation of this flow is the identity (SNAT to the
    // client's own address and port, the backend at the external IP:port), so the frame stays a tracked
    // VIP packet through every repetition while the program does all of its work: filter, gw_dests,
    // gw_services, gw_ct, counters, both checksums, the FIB lookup, MACs, TTL, redirect.
    // The same with the gateway built without its per-packet expiry bookkeeping (gateway_noexpiry.bpf.o),
    // all three taking turns in every round: what flow lifetimes cost a tracked packet.
    const builds = [GATEWAY_OBJECT, NOEXPIRY_OBJECT].map((object) =>
      loadGateway(BPF_DIR, { ...DEFAULT_GATEWAY, flowEntries: 1024, snatPorts: [40000, 40000], object }, "192.0.2.10")
    );
    try {
      for (const b of builds) {
        writeDests(b.obj, { external: [EXT], addresses: [], snatIp: "192.0.2.10" }, true);
        b.programmer.apply(gatewayState(benchState([EXT], 80, 80)), performance.now());
        writeDests(b.obj, { external: [EXT], addresses: [], snatIp: "192.0.2.10" });
      }
      await run(["ip", "-n", net.nsA, "route", "add", `${EXT}/32`, "via", net.ipB]);
      const idProgs = builds.map((b) => b.obj.program("gw_xdp"));
      // each pass takes one off the TTL: frames start at 255 and run 250 times per call
      const fresh = frame({
        src: "192.0.2.10",
        dst: EXT,
        proto: "tcp",
        sport: 40000,
        dport: 80,
        tcpFlags: 0x10,
        payload: new Uint8Array(10),
        ttl: 255,
      });
      const ctx = xdpCtx(fresh.length, net.ifindexA);
      for (const prog of idProgs) {
        const warm = withNetns(net.nsA, () => prog.testRun({ data: fresh, repeat: 1, ctx }));
        if (warm.retval !== XDP.REDIRECT) {
          throw new Error(`gateway bench: identity flow not redirected (verdict ${warm.retval})`);
        }
      }
      const PER_CALL = 250, CALLS = Math.min(400, Math.max(1, Math.round(REPEAT / PER_CALL)));
      const tr: number[] = [], tn: number[] = [], em: number[] = [];
      // each program runs its calls of a round in a block: test_run swaps the XDP dispatcher's program (an RCU
      // grace period) whenever the program changes, which would dominate calls alternating one by one
      const block = (p: BpfProgram) => {
        let t = 0;
        for (let i = 0; i < CALLS; i++) t += p.testRun({ data: fresh, repeat: PER_CALL, ctx }).durationNs;
        return t / CALLS;
      };
      withNetns(net.nsA, () => {
        for (let r = 0; r < ROUNDS; r++) {
          em.push(block(progs.empty));
          tr.push(block(idProgs[0]!));
          tn.push(block(idProgs[1]!));
        }
      });
      for (const b of builds) {
        const c = readCounters(b.obj);
        if (c.flows !== 1 || c.tracked !== ROUNDS * CALLS * PER_CALL || c.ttl !== 0) {
          throw new Error(`gateway bench: repetitions were not all tracked hits (${JSON.stringify(c)})`);
        }
      }
      const te = median(em), tt = median(tr), tnx = median(tn);
      row(
        "gateway: tracked flow, translated + redirected",
        `${tt.toFixed(1)} ns/pkt`,
        `${verdict(tt, 100, "lower")} ns; ${(tt / te).toFixed(2)}x the empty program (${
          te.toFixed(1)
        } ns) alongside; median of ${ROUNDS} x ${CALLS} x ${PER_CALL}`,
      );
      row(
        "gateway: the same without expiry bookkeeping",
        `${tnx.toFixed(1)} ns/pkt`,
        `with bookkeeping ${(tt / tnx).toFixed(3)}x (${(tt - tnx).toFixed(1)} ns), side by side`,
      );
    } finally {
      for (const b of builds) b.obj.close();
    }

    const n = one(
      (i) =>
        frame({
          src: `192.0.${3 + (i >> 16)}.${(i >> 8) & 255}`,
          dst: EXT,
          proto: "tcp",
          sport: 1024 + (i & 255),
          dport: 80,
        }),
      NEW_FLOWS,
    );
    row(
      "gateway: new flow (first packet), one run each (cold)",
      `${(n.gw - n.empty).toFixed(1)} ns`,
      `over the empty program run alike (${n.empty.toFixed(1)} ns); median of ${NEW_FLOWS}`,
    );
    await untilExhaustion(net.nsA, net.ifindexA, progs.empty);
  } finally {
    gw?.close();
    empty?.close();
    await net.close();
  }
}

/**
 * New flows to one backend through the default SNAT range (4,536 ports) until it is exhausted, in the gateway
 * with and without expiry bookkeeping, one run each, the two builds and the empty program taking turns on
 * every frame: the rate while the range fills (the hashed tries, then the scan as it fills up), the cost of a
 * flow when the range is nearly full (the scan), and of a refusal when it is full (one scan, then the mark).
 */
async function untilExhaustion(ns: string, ifindex: number, empty: BpfProgram): Promise<void> {
  const [min, max] = DEFAULT_GATEWAY.snatPorts, range = max - min + 1;
  const builds = [GATEWAY_OBJECT, NOEXPIRY_OBJECT].map((object) =>
    loadGateway(BPF_DIR, { ...DEFAULT_GATEWAY, flowEntries: 2 * range, object }, NODE)
  );
  try {
    for (const b of builds) {
      writeDests(b.obj, { external: [EXT], addresses: [NODE], snatIp: NODE }, true);
      b.programmer.apply(gatewayState(benchState(["10.244.7.11"], 80, 8080)), performance.now());
      writeDests(b.obj, { external: [EXT], addresses: [NODE], snatIp: NODE });
    }
    const progs = builds.map((b) => b.obj.program("gw_xdp"));
    const REFUSED = 200;
    const ns3 = [[], [], []] as number[][]; // empty, with, without: per frame
    const frames = Array.from({ length: range + REFUSED }, (_, i) =>
      frame({
        src: `192.0.${4 + (i >> 16)}.${(i >> 8) & 255}`,
        dst: EXT,
        proto: "tcp",
        sport: 1024 + (i & 255),
        dport: 80,
      }));
    // the three take turns in blocks of 64 frames (a program change costs test_run an RCU grace period)
    withNetns(ns, () => {
      for (let from = 0; from < frames.length; from += 64) {
        for (const [j, p] of [empty, ...progs].entries()) {
          for (let i = from; i < Math.min(from + 64, frames.length); i++) {
            const r = p.testRun({ data: frames[i]!, repeat: 1, ctx: xdpCtx(frames[i]!.length, ifindex) });
            const expected = j === 0 ? XDP.PASS : i < range ? XDP.REDIRECT : XDP.DROP;
            if (r.retval !== expected) {
              throw new Error(`gateway bench: frame ${i} of a ${range}-port range: verdict ${r.retval}`);
            }
            ns3[j]!.push(r.durationNs);
          }
        }
      }
    });
    for (const b of builds) {
      const c = readCounters(b.obj);
      if (c.flows !== range || c.snat_busy !== REFUSED) {
        throw new Error(`gateway bench: ${c.flows} flows, ${c.snat_busy} refused of ${range} + ${REFUSED}`);
      }
    }
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    const [e, w, wo] = ns3.map((xs) => ({
      fill: sum(xs.slice(0, range)) / range,
      last: median(xs.slice(range - range / 10, range)),
      refused: median(xs.slice(range + 1)),
      firstRefused: xs[range]!,
    }));
    const perS = (ns: number) => `${(1e9 / ns / 1e6).toFixed(2)} M flows/s`;
    row(
      `gateway: new flows until the ${range}-port range is full`,
      perS(w!.fill - e!.fill),
      `${(w!.fill - e!.fill).toFixed(0)} ns/flow over the empty program; without expiry bookkeeping ${
        perS(wo!.fill - e!.fill)
      } (with/without ${((w!.fill - e!.fill) / (wo!.fill - e!.fill)).toFixed(2)}x); single runs, mean`,
    );
    row(
      "gateway: new flow, last tenth of the range (scan)",
      `${(w!.last - e!.last).toFixed(0)} ns`,
      `without expiry bookkeeping ${(wo!.last - e!.last).toFixed(0)} ns; median`,
    );
    row(
      "gateway: refused, range full",
      `${(w!.refused - e!.refused).toFixed(0)} ns`,
      `the hashed tries, then marked full: no scan (the first refusal scans the whole range: ${
        (w!.firstRefused - e!.firstRefused).toFixed(0)
      } ns); without expiry bookkeeping ${(wo!.refused - e!.refused).toFixed(0)} ns; median of ${REFUSED - 1}`,
    );
  } finally {
    for (const b of builds) b.obj.close();
  }
}

/**
 * Received bits/s of one iperf3 stream: UDP in 1400-byte datagrams at full speed, or TCP. (TCP from a lab
 * namespace leaves in GSO frames of up to 64 KiB, which generic XDP's redirect refuses as larger than the
 * MTU: TCP is measured through tc only; a NIC in native XDP mode sees wire-sized frames.)
 */
async function iperf(lab: GatewayLab, ip: string, port: number, proto: "udp" | "tcp"): Promise<number> {
  const args = proto === "udp" ? ["-u", "-b", "0", "-l", "1400"] : [];
  const r = await run([
    "ip",
    "netns",
    "exec",
    lab.outside,
    "timeout",
    String(IPERF_SECONDS + 20),
    "iperf3",
    "-c",
    ip,
    "-p",
    String(port),
    ...args,
    "-t",
    String(IPERF_SECONDS),
    "-J",
  ]);
  const j = JSON.parse(r.stdout);
  return (j.end.sum_received ?? j.end.sum).bits_per_second as number;
}

async function throughput(): Promise<void> {
  const lab = await GatewayLab.create();
  let server: Deno.ChildProcess | null = null;
  const state = {
    ...benchState([LAB.backends[0]!], 5201, 5201, "TCP"),
    services: [benchState([LAB.backends[0]!], 5201, 5201, "TCP").services[0]!, {
      ...benchState([LAB.backends[0]!], 5201, 5201, "UDP").services[0]!,
      id: 2,
    }],
  };
  const modules = (["skb", "tc"] as const).map((hook) => ({
    hook,
    gw: new GatewayModule(lab.env(), { ...DEFAULT_GATEWAY, interfaces: lab.interfaces, addresses: [LAB.node], hook }),
  }));
  // straight, and through the gateway in each hook, alternated in every round
  const runs = [
    { name: "UDP routed straight to the backend", proto: "udp", hook: null },
    { name: "UDP through the gateway (XDP skb)", proto: "udp", hook: "skb" },
    { name: "UDP through the gateway (tc)", proto: "udp", hook: "tc" },
    { name: "TCP routed straight to the backend", proto: "tcp", hook: null },
    { name: "TCP through the gateway (tc)", proto: "tcp", hook: "tc" },
  ] as const;
  const bps = runs.map(() => [] as number[]);
  try {
    server = new Deno.Command("ip", {
      args: ["netns", "exec", lab.backendNs[0]!, "iperf3", "-s", "-p", "5201"],
      stdout: "null",
      stderr: "null",
      stdin: "null",
    }).spawn();
    await new Promise((r) => setTimeout(r, 500));
    for (let r = 0; r < IPERF_ROUNDS; r++) {
      for (const [i, x] of runs.entries()) {
        const m = modules.find((m) => m.hook === x.hook);
        m?.gw.start({ adopt: false });
        try {
          m?.gw.apply(state);
          bps[i]!.push(await iperf(lab, m ? LAB.external : LAB.backends[0]!, 5201, x.proto));
        } finally {
          m?.gw.stop();
        }
      }
    }
    const g = bps.map((b) => median(b) / 1e9);
    for (const [i, x] of runs.entries()) {
      const straight = g[x.proto === "udp" ? 0 : 3]!;
      row(
        `iperf3 ${x.name}`,
        `${g[i]!.toFixed(2)} Gbit/s`,
        x.hook
          ? `${((g[i]! / straight) * 100).toFixed(0)} % of straight`
          : `median of ${IPERF_ROUNDS} x ${IPERF_SECONDS} s`,
      );
    }
  } finally {
    for (const m of modules) m.gw.stop();
    if (server) {
      try {
        server.kill("SIGKILL");
      } catch { /* ended */ }
      await server.status;
    }
    await lab.close();
  }
}

if (import.meta.main) {
  await testRuns();
  await throughput();
}
