// SPDX-License-Identifier: Apache-2.0
/**
 * Flow lifetimes and SNAT allocation of bpf/gateway.bpf.c through
 * BPF_PROG_TEST_RUN (frames in, frames out, gw_expire run by hand), with
 * short timeouts and tiny SNAT ranges so that every count is exact: which
 * flow ends when (SYN, established, closing after FIN both ways or RST,
 * UDP), that an ended flow frees both entries, its port and its copies in
 * the per-CPU flow cache, that a removed backend's idle flow ends after the
 * closing timeout, that a range is filled to its last port, and the
 * refusal (a drop) when it is full; that a pause of the sweeps (no agent
 * running) is not idle time, and that a new connection on a closed flow's
 * tuple is not closing.
 */
import type { LbState } from "../../../control/wire/services.ts";
import { type BpfObject, withNetns } from "../../libbpf/mod.ts";
import { assert, assertEquals, assertThrows } from "../../testing/assert.ts";
import {
  BPF_OBJ_DIR,
  createNetns,
  createPinDir,
  deleteNetns,
  kernelTest,
  netnsPrefix,
  track,
} from "../../testing/mod.ts";
import { checkFlowEntries, type FlowTimeouts, MAX_FLOW_ENTRIES, sweepFlows } from "./expiry.ts";
import { frame, type FrameOptions, portsOf, XDP } from "./frames.ts";
import { gatewayState } from "./frontends.ts";
import { GW_FLOW, GW_STRUCTS } from "./layout.ts";
import type { LbProgrammer } from "../lb/programmer.ts";
import { loadGateway, readCounters, readServiceStats, writeDests } from "./module.ts";

const CLIENT = "192.0.2.10", EXT = "203.0.113.7", NODE = "198.51.100.1", BACKEND = "10.244.7.11";
const TCP = { FIN: 0x01, SYN: 0x02, RST: 0x04, ACK: 0x10 } as const;

/** web (TCP :80) and dns (UDP :53) on the external IP, one backend each (web's only while `web`). */
function state(web = true): LbState {
  const svc = {
    id: 1,
    namespace: "default",
    name: "web",
    portName: "",
    vip: "10.96.0.10",
    port: 80,
    protocol: "TCP" as const,
    affinity: "none" as const,
    affinityTimeoutS: 10800,
    backends: web ? [{ id: 1, ip: BACKEND, port: 8080, weight: 1, state: "active" as const }] : [],
    tableSize: 251,
    type: "ClusterIP" as const,
    externalIPs: [EXT],
  };
  return {
    version: 1,
    services: [svc, {
      ...svc,
      id: 2,
      name: "dns",
      port: 53,
      protocol: "UDP",
      backends: [{ id: 2, ip: BACKEND, port: 5353, weight: 1, state: "active" }],
    }],
  };
}

interface Rig {
  obj: BpfObject;
  programmer: LbProgrammer;
  /** One frame through gw_xdp. */
  send(o: Partial<FrameOptions>): { verdict: number; out: Uint8Array; input: Uint8Array };
  count(): ReturnType<typeof readCounters>;
  close(): Promise<void>;
}

/** The gateway object as the module loads it (maps pinned in, or adopted from, `pinDir` when given). */
function load(snatPorts: [number, number], timeouts: FlowTimeouts, sweepMs?: number, pinDir?: string) {
  return loadGateway(
    BPF_OBJ_DIR,
    {
      flowEntries: 1024,
      poolSlots: 1 << 12,
      snatPorts,
      quarantineMs: 1000,
      timeouts,
      sweepMs,
    },
    NODE,
    pinDir,
  );
}

async function rig(
  snatPorts: [number, number],
  timeouts: FlowTimeouts,
  sweepMs?: number,
  pinDir?: string,
): Promise<Rig> {
  const ns = `${netnsPrefix()}gwex${Math.floor(Math.random() * 1e6)}`;
  await createNetns(ns);
  let obj: BpfObject | null = null;
  let g: ReturnType<typeof loadGateway>;
  try {
    g = load(snatPorts, timeouts, sweepMs, pinDir);
    obj = track(g.obj);
    writeDests(obj, { external: [EXT], addresses: [NODE], snatIp: NODE }, true);
    g.programmer.apply(gatewayState(state()), performance.now());
  } catch (e) {
    obj?.close();
    await deleteNetns(ns);
    throw e;
  }
  const o = obj, prog = o.program("gw_xdp");
  return {
    obj: o,
    programmer: g.programmer,
    send: (opts) => {
      const input = frame({ src: CLIENT, dst: EXT, proto: "tcp", dport: 80, ...opts });
      const r = withNetns(ns, () => prog.testRun({ data: input }));
      return { verdict: r.retval, out: r.dataOut, input };
    },
    count: () => readCounters(o),
    close: async () => {
      o.close();
      await deleteNetns(ns);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const entries = (r: Rig) => [r.obj.map("gw_ct").countKeys(), r.obj.map("gw_rev").countKeys()];
const FLAGS_AT = Object.fromEntries(GW_STRUCTS.gw_ct.fields)["flags"]!;
/** The flags of every entry of gw_ct, then of gw_rev. */
const flags = (r: Rig) => ["gw_ct", "gw_rev"].map((m) => [...r.obj.map(m).entries()].map(([, v]) => v[FLAGS_AT]));

kernelTest(
  "gateway expiry: SYN, established, closing (FIN both ways, RST) and UDP timeouts end flows; both entries, the port and the flow cache's copy go",
  async () => {
    // one SNAT port: whether a flow's port was freed shows in whether the next flow gets it
    const r = await rig([61000, 61000], { synS: 0.4, establishedS: 30, closingS: 0.05, udpS: 0.4 });
    try {
      const syn = r.send({ sport: 40000, tcpFlags: TCP.SYN });
      assertEquals([syn.verdict, portsOf(syn.out)], [XDP.PASS, [61000, 8080]]);
      const refused = r.send({ sport: 40001, tcpFlags: TCP.SYN });
      assertEquals(
        [refused.verdict, refused.out],
        [XDP.DROP, refused.input],
        "the only port is taken: dropped, untouched",
      );
      assertEquals(sweepFlows(r.obj), 0, "nothing idle yet");
      assertEquals(entries(r), [1, 1]);

      // SYN only, no reply: ends after the SYN timeout; its port is free again
      await sleep(450);
      assertEquals(sweepFlows(r.obj), 1);
      assertEquals(entries(r), [0, 0]);
      assertEquals(r.send({ sport: 40001, tcpFlags: TCP.SYN }).verdict, XDP.PASS, "the freed port is taken");

      // replied: established, lives past the SYN timeout
      const back = (flags: number) => r.send({ src: BACKEND, dst: NODE, sport: 8080, dport: 61000, tcpFlags: flags });
      assertEquals(back(TCP.SYN | TCP.ACK).verdict, XDP.PASS);
      await sleep(450);
      assertEquals(sweepFlows(r.obj), 0, "established: 30 s");

      // FIN one way: still established; FIN the other way: closing, ends after 50 ms
      r.send({ sport: 40001, tcpFlags: TCP.FIN | TCP.ACK });
      await sleep(100);
      assertEquals(sweepFlows(r.obj), 0, "a FIN one way does not close");
      back(TCP.FIN | TCP.ACK);
      // the last ACK goes through the table and leaves a fresh copy in this CPU's flow cache (valid ~1 s)
      const before = r.count();
      assertEquals(r.send({ sport: 40001, tcpFlags: TCP.ACK }).verdict, XDP.PASS);
      assertEquals(r.count().tracked, before.tracked + 1);
      await sleep(100);
      assertEquals(sweepFlows(r.obj), 1, "closing: ended");
      assertEquals(entries(r), [0, 0]);
      // a late ACK of the ended flow finds no copy in the cache: it makes a new flow (not a tracked hit)
      const late = r.count();
      assertEquals(r.send({ sport: 40001, tcpFlags: TCP.ACK }).verdict, XDP.PASS);
      assertEquals([r.count().tracked, r.count().flows], [late.tracked, late.flows + 1]);

      // RST either way: closing
      r.send({ sport: 40001, tcpFlags: TCP.RST });
      await sleep(100);
      assertEquals(sweepFlows(r.obj), 1, "RST: ended");
      assertEquals(entries(r), [0, 0]);

      // UDP, answered or not: the UDP timeout (its own backend port: its own range of ports)
      const u = r.send({ proto: "udp", sport: 5000, dport: 53 });
      assertEquals([u.verdict, portsOf(u.out)], [XDP.PASS, [61000, 5353]]);
      r.send({ src: BACKEND, dst: NODE, proto: "udp", sport: 5353, dport: 61000 });
      await sleep(150);
      assertEquals(sweepFlows(r.obj), 0);
      await sleep(350);
      assertEquals(sweepFlows(r.obj), 1, "UDP: ended");
      assertEquals(entries(r), [0, 0]);

      // a removed backend's flow ends once idle for the closing timeout (established, it would live 30 s)
      r.send({ sport: 40010, tcpFlags: TCP.SYN });
      back(TCP.SYN | TCP.ACK);
      await sleep(100);
      assertEquals(sweepFlows(r.obj), 0, "established, its backend listed");
      r.programmer.apply(gatewayState(state(false)), performance.now());
      await sleep(100);
      assertEquals(sweepFlows(r.obj), 1, "its backend removed: ended");
      assertEquals(entries(r), [0, 0]);

      const c = r.count();
      assertEquals([c.flows, c.expired, c.snat_busy], [5, 5, 1], "SYN, closing, late ACK (RST), UDP, removed backend");
    } finally {
      await r.close();
    }
  },
);

kernelTest(
  "gateway SNAT: a 64-port range takes 64 flows to one backend, every port once; the 65th is dropped untouched and counted; refused without a scan until the next sweep",
  async () => {
    const r = await rig([61000, 61063], { synS: 60, establishedS: 60, closingS: 10, udpS: 60 });
    try {
      const ports = new Set<number>();
      for (let i = 0; i < 64; i++) {
        const o = r.send({ src: `192.0.2.${10 + i}`, sport: 40000 + i });
        assertEquals(o.verdict, XDP.PASS, `flow ${i}`);
        ports.add(portsOf(o.out)[0]);
      }
      assertEquals(ports.size, 64, "every port of the range, once");
      assertEquals(Math.min(...ports), 61000);
      assertEquals(Math.max(...ports), 61063);
      let c = r.count();
      assertEquals([c.flows, c.snat_busy], [64, 0]);
      assert(c.snat_scans > 0, "the last ports were found by the scan, not by the hashed tries");
      const scans = c.snat_scans;

      const full = (i: number) => {
        const o = r.send({ src: "192.0.2.200", sport: 50000 + i });
        assertEquals([o.verdict, o.out], [XDP.DROP, o.input], "dropped untouched: the backend never leaks");
      };
      full(0);
      c = r.count();
      assertEquals([c.snat_busy, c.snat_scans], [1, scans + 1], "scanned once, found nothing");
      full(1);
      full(2);
      c = r.count();
      assertEquals([c.snat_busy, c.snat_scans], [3, scans + 1], "marked full: refused at once");
      await sleep(5);
      sweepFlows(r.obj); // advances the clock: the mark is stale
      full(3);
      c = r.count();
      assertEquals([c.snat_busy, c.snat_scans, c.flows], [4, scans + 2, 64]);
      assertEquals(readServiceStats(r.obj, 1).get(1)![0], 68, "the service counted every packet in, refused ones too");
      assertEquals(r.obj.map("gw_rev").countKeys(), 64);
    } finally {
      await r.close();
    }
  },
);

kernelTest(
  "gateway expiry: a pause of the sweeps (no agent running) is not idle time: the successor's first sweep ends no flow that talked through it; an idle one ends on a later sweep",
  async () => {
    // UDP 2 s: above the flow cache's refresh (256 jiffies, ~1 s at HZ=250), within which a busy flow's entry is stamped
    const timeouts = { synS: 2, establishedS: 30, closingS: 0.05, udpS: 2 }, range: [number, number] = [61000, 61063];
    const pins = await createPinDir();
    let first: Rig | null = null, next: BpfObject | null = null;
    try {
      first = await rig(range, timeouts, 100, pins.path);
      const r = first, talk = () => assertEquals(r.send({ proto: "udp", sport: 5000, dport: 53 }).verdict, XDP.PASS);
      talk();
      r.send({ proto: "udp", sport: 5001, dport: 53 }); // idle from here on
      assertEquals(sweepFlows(r.obj), 0);
      // the agent is gone for 3 s, longer than the UDP timeout: nothing sweeps; the program (still attached) carries
      // the first flow's packets, stamped with the clock that stopped
      for (let i = 0; i < 30; i++) {
        await sleep(100);
        talk();
      }
      // the successor adopts the pinned maps; loading sweeps at once
      next = track(load(range, timeouts, 100, pins.path).obj);
      assertEquals([entries(r), r.count().expired], [[2, 2], 0], "the pause ended no flow");
      // sweeping every 100 ms again for 2.5 s: the idle flow ends (the pause counted 300 ms); the talking one lives on
      for (let i = 0; i < 25; i++) {
        talk();
        await sleep(100);
        sweepFlows(next);
      }
      assertEquals([entries(r), r.count().expired], [[1, 1], 1]);
      const before = r.count();
      talk();
      assertEquals(
        [r.count().flows, r.count().tracked],
        [before.flows, before.tracked + 1],
        "the talking flow is left",
      );
    } finally {
      next?.close();
      await first?.close();
      await pins.close();
    }
  },
);

kernelTest(
  "gateway expiry: a SYN on the tuple of a flow closed by RST or by FIN both ways starts it over (SYN, then established timeout), not closing; a retransmitted SYN changes nothing",
  async () => {
    const r = await rig([61000, 61000], { synS: 0.4, establishedS: 30, closingS: 0.05, udpS: 0.4 });
    try {
      const syn = () => assertEquals(r.send({ sport: 40000, tcpFlags: TCP.SYN }).verdict, XDP.PASS);
      const back = (f: number) => r.send({ src: BACKEND, dst: NODE, sport: 8080, dport: 61000, tcpFlags: f });
      syn();
      back(TCP.SYN | TCP.ACK);
      syn(); // retransmitted (its SYN-ACK lost): still the one connection, replied
      assertEquals(flags(r), [[0], [GW_FLOW.REPLIED]]);

      r.send({ sport: 40000, tcpFlags: TCP.RST });
      assertEquals(flags(r), [[GW_FLOW.RST], [GW_FLOW.REPLIED]]);
      syn(); // the client reuses its port at once
      assertEquals(flags(r), [[0], [0]], "a new connection: nothing of the old one's");
      await sleep(100);
      assertEquals(sweepFlows(r.obj), 0, "past the closing timeout, within the SYN timeout");
      back(TCP.SYN | TCP.ACK);
      r.send({ sport: 40000, tcpFlags: TCP.ACK });
      await sleep(450);
      assertEquals(sweepFlows(r.obj), 0, "replied: established");

      r.send({ sport: 40000, tcpFlags: TCP.FIN | TCP.ACK });
      back(TCP.FIN | TCP.ACK);
      assertEquals(flags(r), [[GW_FLOW.FIN], [GW_FLOW.REPLIED | GW_FLOW.FIN]]);
      syn();
      assertEquals(flags(r), [[0], [0]]);
      await sleep(100);
      assertEquals(sweepFlows(r.obj), 0, "not closing");
      await sleep(350);
      assertEquals(sweepFlows(r.obj), 1, "no reply: the SYN timeout");
      const c = r.count();
      assertEquals([c.flows, c.expired, entries(r)], [1, 1, [0, 0]], "one flow throughout, over one SNAT port");
    } finally {
      await r.close();
    }
  },
);

Deno.test("gateway flow tables: up to MAX_FLOW_ENTRIES entries each (a sweep walks them whole); more is refused, naming the bound", () => {
  checkFlowEntries(16);
  checkFlowEntries(MAX_FLOW_ENTRIES);
  for (const n of [15, MAX_FLOW_ENTRIES + 1, 1 << 22, 1.5]) {
    assertThrows(() => checkFlowEntries(n), Error, `flow table size ${n}: must be within 16-${MAX_FLOW_ENTRIES}`);
  }
});
