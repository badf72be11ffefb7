// SPDX-License-Identifier: Apache-2.0
/**
 * Packet fixtures of bpf/gateway.bpf.c through BPF_PROG_TEST_RUN, like
 * Katran's tester: input frame -> expected output frame and verdict. Run in
 * a namespace of our own where the kernel knows no route, so a translated
 * packet is passed to the stack (XDP_PASS, TTL as it was) and the output is
 * exactly the translated frame; one fixture adds a veth and a route to see
 * the redirect (XDP_REDIRECT, MACs of the next hop, TTL - 1).
 *
 * Expected frames are built afresh with full checksums: equal bytes mean the
 * program's incremental updates are right.
 */
import type { LbState } from "../../../control/wire/services.ts";
import { BpfObject, withNetns } from "../../libbpf/mod.ts";
import { assert, assertEquals } from "../../testing/assert.ts";
import {
  BPF_OBJ_DIR,
  createNetns,
  createVethPair,
  deleteNetns,
  kernelTest,
  netnsPrefix,
  SK_BUFF_INGRESS_IFINDEX_OFFSET,
  skbCtx,
  track,
} from "../../testing/mod.ts";
import { gatewayState } from "./frontends.ts";
import { frame, ipAt, portsOf, quote, XDP, xdpCtx } from "./frames.ts";
import { GW_LIMITS, GW_NEIGH_MAGIC, GW_STRUCTS } from "./layout.ts";
import { forgetFlows, loadGateway, readCounters, readServiceStats, writeDests } from "./module.ts";

const CLIENT = "192.0.2.10";
const EXT = "203.0.113.7"; // external IP of web
const NODE = "198.51.100.1"; // node address (NodePort), also the SNAT address
const BACKENDS = ["10.244.7.11", "10.244.7.12", "10.244.7.13"];
const SNAT_PORTS: [number, number] = [61000, 65535];

function state(version = 1, backendsOf: string[] = BACKENDS): LbState {
  const backends = backendsOf.map((ip, i) => ({ id: i + 1, ip, port: 8080, weight: 1, state: "active" as const }));
  return {
    version,
    services: [
      {
        id: 1,
        namespace: "default",
        name: "web",
        portName: "",
        vip: "10.96.0.10",
        port: 80,
        protocol: "TCP",
        affinity: "none",
        affinityTimeoutS: 10800,
        backends,
        tableSize: 251,
        type: "LoadBalancer",
        nodePort: 30080,
        externalIPs: [EXT],
      },
      {
        id: 2,
        namespace: "default",
        name: "dns",
        portName: "",
        vip: "10.96.0.53",
        port: 53,
        protocol: "UDP",
        affinity: "none",
        affinityTimeoutS: 10800,
        backends: backends.map((b) => ({ ...b, id: b.id + 10, port: 5353 })),
        tableSize: 251,
        type: "ClusterIP",
        externalIPs: [EXT],
      },
      {
        id: 3,
        namespace: "default",
        name: "empty",
        portName: "",
        vip: "10.96.0.99",
        port: 81,
        protocol: "TCP",
        affinity: "none",
        affinityTimeoutS: 10800,
        backends: [],
        tableSize: 251,
        type: "ClusterIP",
        externalIPs: [EXT],
      },
    ],
  };
}

interface Rig {
  obj: BpfObject;
  ns: string;
  run(f: Uint8Array, ctx?: Uint8Array): { verdict: number; out: Uint8Array };
  counters(): ReturnType<typeof readCounters>;
  svc(id: number): bigint[];
  close(): Promise<void>;
}

async function rig(flowEntries = 1024, program: "gw_xdp" | "gw_tc" = "gw_xdp", lb: LbState = state()): Promise<Rig> {
  const ns = `${netnsPrefix()}gwfx${Math.floor(Math.random() * 1e6)}`;
  await createNetns(ns);
  let obj: BpfObject | null = null;
  try {
    const g = loadGateway(
      BPF_OBJ_DIR,
      { flowEntries, poolSlots: 1 << 14, snatPorts: SNAT_PORTS, quarantineMs: 1000 },
      NODE,
    );
    obj = track(g.obj);
    const gw = gatewayState(lb);
    writeDests(obj, { external: [EXT], addresses: [NODE], snatIp: NODE }, true);
    g.programmer.apply(gw, performance.now());
    writeDests(obj, { external: [EXT], addresses: [NODE], snatIp: NODE });
  } catch (e) {
    obj?.close();
    await deleteNetns(ns);
    throw e;
  }
  const o = obj;
  const prog = o.program(program);
  return {
    obj: o,
    ns,
    run: (f, ctx) => {
      const r = withNetns(ns, () => prog.testRun({ data: f, ...(ctx ? { ctx } : {}) }));
      return { verdict: r.retval, out: r.dataOut };
    },
    counters: () => readCounters(o),
    svc: (id) => (readServiceStats(o, id).get(id) ?? [0, 0, 0, 0]).map(BigInt),
    close: async () => {
      o.close();
      await deleteNetns(ns);
    },
  };
}

const syn = (sport = 40000, more: Partial<Parameters<typeof frame>[0]> = {}) =>
  frame({ src: CLIENT, dst: EXT, proto: "tcp", sport, dport: 80, ...more });

kernelTest("gateway fixtures: new flow, tracked flow, reply, NodePort, UDP with and without checksum", async () => {
  const r = await rig();
  try {
    // new flow: to a backend, from the SNAT address and a port of the range
    const input = syn(40000, { payload: new TextEncoder().encode("hello") });
    const first = r.run(input);
    assertEquals(first.verdict, XDP.PASS, "no route in this namespace: passed to the stack");
    const backend = ipAt(first.out, 14 + 16);
    const [snatPort, bport] = portsOf(first.out);
    assert(BACKENDS.includes(backend), `backend ${backend}`);
    assertEquals(bport, 8080);
    assert(snatPort >= SNAT_PORTS[0] && snatPort <= SNAT_PORTS[1], `SNAT port ${snatPort}`);
    assertEquals(
      first.out,
      frame({
        src: NODE,
        dst: backend,
        proto: "tcp",
        sport: snatPort,
        dport: 8080,
        payload: new TextEncoder().encode("hello"),
      }),
    );
    let c = r.counters();
    assertEquals([c.flows, c.tracked, c.to_stack], [1, 0, 1]);
    assertEquals(r.obj.map("gw_ct").countKeys(), 1);
    assertEquals(r.obj.map("gw_rev").countKeys(), 1);

    // tracked flow: the same translation, no new entry
    const again = r.run(input);
    assertEquals(again, first);
    c = r.counters();
    assertEquals([c.flows, c.tracked], [1, 1]);
    assertEquals(r.svc(1), [2n, BigInt(2 * input.length), 0n, 0n]);

    // reply: backend -> SNAT address becomes EXT:80 -> client
    const reply = frame({ src: backend, dst: NODE, proto: "tcp", sport: 8080, dport: snatPort, tcpFlags: 0x12 });
    const back = r.run(reply);
    assertEquals(back.verdict, XDP.PASS);
    assertEquals(back.out, frame({ src: EXT, dst: CLIENT, proto: "tcp", sport: 80, dport: 40000, tcpFlags: 0x12 }));
    assertEquals(r.counters().replies, 1);
    assertEquals(r.svc(1), [2n, BigInt(2 * input.length), 1n, BigInt(reply.length)]);

    // NodePort on the node address: the reply comes from that address and the NodePort
    const np = r.run(frame({ src: CLIENT, dst: NODE, proto: "tcp", sport: 40001, dport: 30080 }));
    assertEquals(np.verdict, XDP.PASS);
    const npBackend = ipAt(np.out, 14 + 16);
    const [npSnat] = portsOf(np.out);
    assertEquals(np.out, frame({ src: NODE, dst: npBackend, proto: "tcp", sport: npSnat, dport: 8080 }));
    const npBack = r.run(
      frame({ src: npBackend, dst: NODE, proto: "tcp", sport: 8080, dport: npSnat, tcpFlags: 0x12 }),
    );
    assertEquals(
      npBack.out,
      frame({ src: NODE, dst: CLIENT, proto: "tcp", sport: 30080, dport: 40001, tcpFlags: 0x12 }),
    );

    // UDP: with a checksum (updated), and without (stays 0)
    const payload = new Uint8Array([1, 2, 3, 4, 5, 6, 7]);
    for (const noUdpChecksum of [false, true]) {
      const u = r.run(
        frame({
          src: CLIENT,
          dst: EXT,
          proto: "udp",
          sport: 5000 + Number(noUdpChecksum),
          dport: 53,
          payload,
          noUdpChecksum,
        }),
      );
      assertEquals(u.verdict, XDP.PASS);
      const ub = ipAt(u.out, 30);
      const [us, ud] = portsOf(u.out);
      assertEquals(ud, 5353);
      assertEquals(u.out, frame({ src: NODE, dst: ub, proto: "udp", sport: us, dport: 5353, payload, noUdpChecksum }));
      const ur = r.run(frame({ src: ub, dst: NODE, proto: "udp", sport: 5353, dport: us, payload, noUdpChecksum }));
      assertEquals(
        ur.out,
        frame({
          src: EXT,
          dst: CLIENT,
          proto: "udp",
          sport: 53,
          dport: 5000 + Number(noUdpChecksum),
          payload,
          noUdpChecksum,
        }),
      );
    }
    assertEquals(r.svc(2)[0], 2n);

    // a service deleted: the agent forgets its flows, and its packets pass untouched
    assertEquals(forgetFlows(r.obj, new Set([2])), 2);
    assertEquals(r.obj.map("gw_ct").countKeys(), 2, "web's two flows stay");
    assertEquals(r.run(input), first, "web's tracked flow goes on");
  } finally {
    await r.close();
  }
});

kernelTest(
  "gateway fixtures: non-VIP and unknown ports pass untouched; malformed, truncated, fragments, TTL 1 pass untouched and are counted; no backend drops",
  async () => {
    const r = await rig();
    try {
      const untouched = (f: Uint8Array, what: string, verdict: number = XDP.PASS) => {
        const o = r.run(f);
        assertEquals(o.verdict, verdict, what);
        assertEquals(o.out, f, what);
      };
      untouched(frame({ src: CLIENT, dst: "10.1.2.3", proto: "tcp", dport: 80 }), "another destination");
      untouched(frame({ src: CLIENT, dst: EXT, proto: "tcp", dport: 443 }), "the external IP at a port of no service");
      untouched(frame({ src: CLIENT, dst: EXT, proto: "udp", dport: 80 }), "the port of a TCP service over UDP");
      untouched(
        frame({ src: "10.244.7.11", dst: NODE, proto: "tcp", sport: 8080, dport: 61001 }),
        "a reply of no tracked flow",
      );
      const arp = new Uint8Array(42);
      arp.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff], 0);
      arp[12] = 0x08, arp[13] = 0x06;
      untouched(arp, "ARP");
      untouched(new Uint8Array(20), "an Ethernet header and a few bytes (test_run takes no frame shorter than 14)");
      assertEquals(r.counters(), { ...zero() }, "none of those is counted");

      const f = syn();
      untouched(f.slice(0, 14 + 20 + 10), "TCP header cut short");
      const longer = f.slice();
      new DataView(longer.buffer).setUint16(16, 200); // tot_len beyond the frame
      untouched(longer, "IP total length beyond the frame");
      const badIhl = f.slice();
      badIhl[14] = 0x44;
      untouched(badIhl, "IHL 4");
      assertEquals(r.counters().malformed, 3);

      untouched(syn(40000, { moreFragments: true }), "first fragment (MF)");
      untouched(frame({ src: CLIENT, dst: EXT, proto: "udp", dport: 53, fragOffset: 185 }), "later fragment");
      assertEquals(r.counters().fragments, 2);
      untouched(syn(40000, { ttl: 1 }), "TTL 1: the stack answers time exceeded");
      assertEquals(r.counters().ttl, 1);
      assertEquals(r.counters().flows, 0);

      untouched(frame({ src: CLIENT, dst: EXT, proto: "tcp", dport: 81 }), "a service without backends", XDP.DROP);
      assertEquals(r.counters().no_backend, 1);
      assertEquals(r.svc(3)[0], 1n);
    } finally {
      await r.close();
    }
  },
);

kernelTest(
  "gateway fixtures: IP options are kept and skipped (L4 by IHL), ICMP errors of tracked flows translated both ways",
  async () => {
    const r = await rig();
    try {
      const options = new Uint8Array([1, 1, 1, 0]); // NOP NOP NOP EOL
      const o = r.run(syn(40100, { options }));
      assertEquals(o.verdict, XDP.PASS);
      const b = ipAt(o.out, 30);
      const [sp] = portsOf(o.out, 24);
      assertEquals(o.out, frame({ src: NODE, dst: b, proto: "tcp", sport: sp, dport: 8080, options }));

      // a flow, then an ICMP error from a router on the backend's side about what we sent the backend
      const f = r.run(syn(40200));
      const backend = ipAt(f.out, 30);
      const [snat] = portsOf(f.out);
      const sent = frame({ src: NODE, dst: backend, proto: "tcp", sport: snat, dport: 8080 });
      const fromBackendSide = frame({
        src: "10.244.7.1",
        dst: NODE,
        proto: "icmp",
        icmp: { type: 3, code: 4, quoted: quote(sent) },
      });
      const t1 = r.run(fromBackendSide);
      assertEquals(t1.verdict, XDP.PASS);
      // the client hears of its own packet, from the external IP
      assertEquals(
        t1.out,
        frame({ src: EXT, dst: CLIENT, proto: "icmp", icmp: { type: 3, code: 4, quoted: quote(syn(40200)) } }),
      );

      // an ICMP error from the client's side about a reply we sent (EXT:80 -> client)
      const replied = frame({ src: EXT, dst: CLIENT, proto: "tcp", sport: 80, dport: 40200, tcpFlags: 0x12 });
      const fromClientSide = frame({
        src: "192.0.2.1",
        dst: EXT,
        proto: "icmp",
        icmp: { type: 11, code: 0, quoted: quote(replied) },
      });
      const t2 = r.run(fromClientSide);
      assertEquals(t2.verdict, XDP.PASS);
      const backendSent = frame({ src: backend, dst: NODE, proto: "tcp", sport: 8080, dport: snat, tcpFlags: 0x12 });
      assertEquals(
        t2.out,
        frame({ src: NODE, dst: backend, proto: "icmp", icmp: { type: 11, code: 0, quoted: quote(backendSent) } }),
      );
      assertEquals(r.counters().icmp, 2);

      // about a flow nobody tracks, or an echo request: untouched
      const stranger = frame({
        src: "10.244.7.1",
        dst: NODE,
        proto: "icmp",
        icmp: {
          type: 3,
          code: 4,
          quoted: quote(frame({ src: NODE, dst: backend, proto: "tcp", sport: 61234, dport: 9 })),
        },
      });
      assertEquals(r.run(stranger).out, stranger);
      const echo = frame({
        src: CLIENT,
        dst: EXT,
        proto: "icmp",
        icmp: { type: 8, code: 0, quoted: new Uint8Array(8) },
      });
      assertEquals(r.run(echo), { verdict: XDP.PASS, out: echo });
      assertEquals(r.counters().icmp, 2);
    } finally {
      await r.close();
    }
  },
);

kernelTest(
  "gateway fixtures: per-service counters per CPU below id 4096, in the shared array above; read back summed",
  async () => {
    const high = GW_LIMITS.GW_PCPU_STATS_IDS + 904;
    const lb = state();
    const r = await rig(1024, "gw_xdp", {
      ...lb,
      services: [...lb.services, {
        ...lb.services[0]!,
        id: high,
        name: "high",
        port: 8443,
        backends: lb.services[0]!.backends.map((b) => ({ ...b, id: b.id + 20 })),
      }],
    });
    try {
      const low = syn(41000), hi = frame({ src: CLIENT, dst: EXT, proto: "tcp", sport: 41001, dport: 8443 });
      for (let i = 0; i < 3; i++) r.run(low);
      for (let i = 0; i < 5; i++) r.run(hi);
      assertEquals(r.svc(1), [3n, BigInt(3 * low.length), 0n, 0n]);
      assertEquals(r.svc(high), [5n, BigInt(5 * hi.length), 0n, 0n]);
      const k = new Uint8Array(4);
      new DataView(k.buffer).setUint32(0, high, true);
      assertEquals(
        new DataView(r.obj.map("gw_svc_stats").lookup(k)!.buffer).getBigUint64(0, true),
        5n,
        "the high id in the shared array",
      );
      new DataView(k.buffer).setUint32(0, 1, true);
      assertEquals(r.obj.map("gw_svc_stats_pcpu").sumU64(k)![0], 3n, "id 1 per CPU");
    } finally {
      await r.close();
    }
  },
);

/** tc's verdicts (TC_ACT_*, as the kernel's u32) for XDP's. */
const TC = { UNSPEC: 0xffffffff, SHOT: 2, REDIRECT: 7 } as const;

kernelTest(
  "gateway fixtures: the tc program translates every case byte for byte as XDP does (checksums through the kernel's helpers)",
  async () => {
    const [x, t] = [await rig(), await rig(1024, "gw_tc")];
    try {
      const hello = new TextEncoder().encode("hello");
      const cases: [string, Uint8Array | ((out: Uint8Array[]) => Uint8Array)][] = [
        ["new TCP flow", syn(40000, { payload: hello })],
        ["tracked", syn(40000, { payload: hello, tcpFlags: 0x10 })],
        [
          "reply",
          (outs) =>
            frame({
              src: ipAt(outs[0]!, 30),
              dst: NODE,
              proto: "tcp",
              sport: 8080,
              dport: portsOf(outs[0]!)[0],
              tcpFlags: 0x12,
              payload: hello,
            }),
        ],
        ["NodePort", frame({ src: CLIENT, dst: NODE, proto: "tcp", sport: 40001, dport: 30080 })],
        ["UDP", frame({ src: CLIENT, dst: EXT, proto: "udp", sport: 40002, dport: 53, payload: hello })],
        [
          "UDP without checksum",
          frame({ src: CLIENT, dst: EXT, proto: "udp", sport: 40003, dport: 53, payload: hello, noUdpChecksum: true }),
        ],
        ["IP options", syn(40004, { options: new Uint8Array([1, 1, 1, 0]) })],
        [
          "ICMP error about a flow",
          (outs) =>
            frame({
              src: "10.244.7.1",
              dst: NODE,
              proto: "icmp",
              icmp: {
                type: 3,
                code: 4,
                quoted: quote(
                  frame({ src: NODE, dst: ipAt(outs[0]!, 30), proto: "tcp", sport: portsOf(outs[0]!)[0], dport: 8080 }),
                ),
              },
            }),
        ],
        ["not ours", frame({ src: CLIENT, dst: "10.1.2.3", proto: "tcp", sport: 40005, dport: 80 })],
        ["fragment", syn(40006, { moreFragments: true })],
        ["no backend", frame({ src: CLIENT, dst: EXT, proto: "tcp", sport: 40007, dport: 81 })],
      ];
      const outs: Uint8Array[] = [];
      for (const [name, c] of cases) {
        const input = typeof c === "function" ? c(outs) : c;
        const [a, b] = [x.run(input), t.run(input)];
        const expected = a.verdict === XDP.DROP ? TC.SHOT : a.verdict === XDP.REDIRECT ? TC.REDIRECT : TC.UNSPEC;
        assertEquals(b.verdict >>> 0, expected, `${name}: tc verdict for XDP's ${a.verdict}`);
        assertEquals(b.out, a.out, `${name}: the same bytes`);
        outs.push(a.out);
      }
      assert(!equalBytes(outs[0]!, cases[0]![1] as Uint8Array), "the first packet was translated");
      assertEquals(t.counters(), x.counters());
      assertEquals(t.svc(1), x.svc(1));
    } finally {
      await x.close();
      await t.close();
    }
  },
);

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

kernelTest(
  "gateway fixtures: with a route and a neighbour the translated packet is redirected to the next hop, TTL - 1",
  async () => {
    const r = await rig();
    // a veth in a namespace of ours whose peer is "the backend network": 10.244.7.0/24 behind 10.244.250.2
    const net = await createVethPair();
    try {
      const { run } = await import("../../testing/run.ts");
      await run(["ip", "-n", net.nsA, "route", "add", "10.244.7.0/24", "via", "10.244.250.2"]);
      // without forwarding on the ingress device bpf_fib_lookup answers FWD_DISABLED (and the packet is passed)
      await run(["ip", "netns", "exec", net.nsA, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      const prog = r.obj.program("gw_xdp");
      const input = syn(40300);
      const out = withNetns(net.nsA, () => prog.testRun({ data: input, ctx: xdpCtx(input.length, net.ifindexA) }));
      assertEquals(out.retval, XDP.REDIRECT);
      const backend = ipAt(out.dataOut, 30);
      const [sp] = portsOf(out.dataOut);
      assertEquals(
        out.dataOut,
        frame({
          src: NODE,
          dst: backend,
          proto: "tcp",
          sport: sp,
          dport: 8080,
          ttl: 63,
          srcMac: net.macA,
          dstMac: net.macB,
        }),
      );
    } finally {
      await net.close();
      await r.close();
    }
  },
);

kernelTest(
  "gateway fixtures: a route but no neighbour: tc sends by bpf_redirect_neigh (TTL - 1), XDP passes the translated packet on to gw_tc_neigh",
  async () => {
    const [x, t] = [await rig(), await rig(1024, "gw_tc")];
    // the backend network behind 10.244.250.9, a next hop nobody has resolved (no neighbour entry)
    const net = await createVethPair();
    try {
      const { run } = await import("../../testing/run.ts");
      await run(["ip", "-n", net.nsA, "route", "add", "10.244.7.0/24", "via", "10.244.250.9"]);
      await run(["ip", "netns", "exec", net.nsA, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      const input = syn(40400);
      const inNet = (r: Rig, ctx: Uint8Array) =>
        withNetns(net.nsA, () => r.obj.program(r === x ? "gw_xdp" : "gw_tc").testRun({ data: input, ctx }));
      const skb = skbCtx(net.ifindexA);
      new DataView(skb.buffer).setUint32(SK_BUFF_INGRESS_IFINDEX_OFFSET, net.ifindexA, true);
      for (let i = 1; i <= 3; i++) {
        const a = inNet(x, xdpCtx(input.length, net.ifindexA)), b = inNet(t, skb);
        assertEquals(a.retval, XDP.PASS, "XDP: passed (with the next hop in its metadata)");
        assertEquals(b.retval, TC.REDIRECT, "tc: redirected by bpf_redirect_neigh");
        // test_run hands back the metadata before the frame: struct gw_neigh_meta { magic, ifindex, nexthop }
        const metaSize = GW_STRUCTS.gw_neigh_meta.size, out = a.dataOut.subarray(metaSize);
        const meta = new DataView(a.dataOut.buffer, a.dataOut.byteOffset, metaSize);
        assertEquals([meta.getUint32(0, true), meta.getUint32(4, true)], [GW_NEIGH_MAGIC, net.ifindexA]);
        assertEquals(ipAt(a.dataOut, 8), "10.244.250.9", "the next hop to resolve: the route's gateway");
        const backend = ipAt(out, 30);
        const [sp] = portsOf(out);
        const translated = { src: NODE, dst: backend, proto: "tcp" as const, sport: sp, dport: 8080 };
        assertEquals(out, frame(translated), "XDP: translated, TTL as it was (gw_tc_neigh decrements it)");
        assertEquals(b.dataOut, frame({ ...translated, ttl: 63 }), "tc: translated, TTL - 1, MACs left to the kernel");
        // nothing cached from a lookup without a neighbour: every packet looks again until the kernel resolved it
        assertEquals([x.counters().neigh_to_tc, x.counters().neigh_redirects, x.counters().to_stack], [i, 0, 0]);
        assertEquals([t.counters().neigh_redirects, t.counters().neigh_to_tc, t.counters().to_stack], [i, 0, 0]);
      }
    } finally {
      await net.close();
      await x.close();
      await t.close();
    }
  },
);

kernelTest(
  "gateway fixtures: a SYN flood fills the LRU flow table to its size and no further; evictions are counted",
  async () => {
    const size = 512;
    const r = await rig(size);
    try {
      const n = 4 * size;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) {
        const f = frame({
          src: `192.0.${2 + (i >> 14)}.${1 + (i & 0xff)}`,
          dst: EXT,
          proto: "tcp",
          sport: 1024 + (i >> 8),
          dport: 80,
        });
        assertEquals(r.run(f).verdict, XDP.PASS);
      }
      assert(performance.now() - t0 < 20_000, "bounded in time");
      const c = r.counters();
      const present = r.obj.map("gw_ct").countKeys();
      assert(present <= size, `${present} flows tracked in a table of ${size}`);
      assert(r.obj.map("gw_rev").countKeys() <= size);
      assertEquals(c.flows + c.snat_busy, n, "every SYN made a flow (or found no SNAT port)");
      assert(c.flows - present >= n - size - c.snat_busy, `evicted ${c.flows - present}`);
      assertEquals(GW_LIMITS.GW_SNAT_TRIES, 8);
    } finally {
      await r.close();
    }
  },
);

function zero() {
  return {
    flows: 0,
    tracked: 0,
    replies: 0,
    icmp: 0,
    no_backend: 0,
    snat_busy: 0,
    fragments: 0,
    malformed: 0,
    to_stack: 0,
    ttl: 0,
    neigh_redirects: 0,
    neigh_to_tc: 0,
    expired: 0,
    snat_scans: 0,
  };
}
