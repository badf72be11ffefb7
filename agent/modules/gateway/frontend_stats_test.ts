// SPDX-License-Identifier: Apache-2.0
/**
 * The gateway's events per frontend and per service on the real kernel
 * (gateway_lab.ts): connections and datagrams of a known number to each
 * frontend, and the rows read into the batch equal them exactly: new flows,
 * first packets without a backend, translated packets passed to the stack,
 * and evictions from a full flow table. And gw_fe_stats' entries follow the
 * frontends through a thousand changes, a removed frontend's last counts
 * going out with the next read. Across hand-overs (a thousand in a row) the
 * events after the last read are reported once, by the successor, from its
 * adoption on; after a crash never twice; and a flow made during a read is
 * not taken for an eviction.
 */
import type { GatewayFrontendRow, LbService, LbState } from "../../../control/wire/services.ts";
import { assert, assertEquals } from "../../testing/assert.ts";
import { BPF_OBJ_DIR, kernelTest } from "../../testing/kernel.ts";
import { createNetns, deleteNetns, netnsPrefix } from "../../testing/netns.ts";
import { type BpfObject, withNetns } from "../../libbpf/mod.ts";
import { frame } from "./frames.ts";
import { encodeSvcKey } from "../lb/layout.ts";
import { FrontendHandOver, FrontendStats } from "./frontend_stats.ts";
import { gatewayState } from "./frontends.ts";
import { GatewayLab, LAB, labService } from "./gateway_lab.ts";
import { GW_FE_COUNTER_NAMES, GW_STRUCTS } from "./layout.ts";
import { DEFAULT_GATEWAY, GatewayModule, type GatewaySettings, loadGateway, writeDests } from "./module.ts";

const ANY = "0.0.0.0";
/** 10.244.64.0/24 is on no link of the lab's node: translated packets to it have no route (to_stack). */
const NO_ROUTE_BACKEND = "10.244.64.2";

/** The lab's web service (its three backends) as service `id` with other fields. */
const service = (id: number, over: Partial<LbService>): LbService => ({ ...labService([1, 2, 3]), id, ...over });
/** A UDP service at the external IP only. */
const udp = { protocol: "UDP", type: "ClusterIP", nodePort: undefined } as const;

/** web: external IP :80 (frontend A) and NodePort 30080 (B); empty: UDP :81, no backend; lost: UDP :82, backend beyond any route. */
function labState(version: number): LbState {
  return {
    version,
    services: [
      labService([1, 2, 3]),
      service(9, { ...udp, name: "empty", port: 81, backends: [] }),
      service(10, {
        ...udp,
        name: "lost",
        port: 82,
        backends: [{ id: 200, ip: NO_ROUTE_BACKEND, port: 8080, weight: 1, state: "active" }],
      }),
    ],
  };
}

/** Rows summed by service id and frontend (`address:port`). */
function byFrontend(rows: GatewayFrontendRow[]): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const [id, address, port, ...counters] of rows) {
    const k = `${id} ${address}:${port}`;
    const t = out.get(k) ?? counters.map(() => 0);
    out.set(k, t.map((v, i) => v + counters[i]!));
  }
  return out;
}

const ZERO = [0, 0, 0, 0, 0, 0];
/** Timeouts no test outlasts: nothing expires unless a test asks. */
const LONG = { synS: 600, establishedS: 600, closingS: 600, udpS: 600 };

async function withGateway(
  settings: Partial<GatewaySettings>,
  fn: (lab: GatewayLab, gw: GatewayModule) => Promise<void>,
) {
  const lab = await GatewayLab.create();
  const gw = lab.gateway({ hook: "tc", timeouts: LONG, ...settings });
  try {
    gw.start({ adopt: false });
    gw.apply(labState(1));
    await fn(lab, gw);
  } finally {
    gw.stop();
    await lab.close();
  }
}

kernelTest(
  "gateway frontends: N connections to one frontend, M to another, no backend and no route, counted exactly per frontend and service",
  () =>
    withGateway({}, async (lab, gw) => {
      const N = 20, M = 12, K = 7, U = 9;
      assertEquals((await lab.client("many", LAB.external, 80, N)).errors, {});
      assertEquals((await lab.client("many", LAB.node, 30080, M)).errors, {});
      await lab.client("udpsend", LAB.external, 81, K); // each datagram a first packet, dropped
      await lab.client("udpsend", LAB.external, 82, U); // one flow, every datagram translated and passed to the stack
      const rows = gw.read().gateway!.frontends ?? [];
      const got = byFrontend(rows);
      // [flows, evicted, snatBusy, noBackend, toStack, expired]
      assertEquals(got.get(`7 ${LAB.external}:80`), [N, 0, 0, 0, 0, 0], "web's external IP");
      assertEquals(got.get(`7 ${ANY}:30080`), [M, 0, 0, 0, 0, 0], "web's NodePort");
      assertEquals(got.get(`9 ${LAB.external}:81`), [0, 0, 0, K, 0, 0], "empty: no backend");
      assertEquals(got.get(`10 ${LAB.external}:82`), [1, 0, 0, 0, U, 0], "lost: no route");
      assertEquals(got.size, 4, `only frontends that counted: ${JSON.stringify(rows)}`);
      // per service: its frontends summed
      const web = rows.filter(([id]) => id === 7).reduce((a, [, , , ...c]) => a.map((v, i) => v + c[i]!), ZERO);
      assertEquals(web, [N + M, 0, 0, 0, 0, 0]);
      // deltas: nothing new, no rows; then one more connection, one row of one flow
      assertEquals(gw.read().gateway!.frontends, undefined);
      assertEquals((await lab.client("many", LAB.node, 30080, 1)).errors, {});
      assertEquals(gw.read().gateway!.frontends, [[7, ANY, 30080, 1, 0, 0, 0, 0, 0]]);
    }),
);

kernelTest(
  "gateway frontends: flows pushed out of a full flow table are counted as evictions of their frontend",
  () =>
    withGateway({ flowEntries: 64 }, async (lab, gw) => {
      const N = 400;
      assertEquals((await lab.client("many", LAB.external, 80, N)).errors, {});
      const [[id, address, port, flows, evicted, ...rest]] = gw.read().gateway!.frontends!;
      assertEquals([id, address, port, flows, rest], [7, LAB.external, 80, N, [0, 0, 0, 0]]);
      const present = gw.flowsTracked();
      assert(present > 0 && present <= 64, `the table holds at most its size: ${present}`);
      assertEquals(evicted, N - present, "made, and no longer tracked");
    }),
);

kernelTest(
  "gateway frontends: flows ended by expiry are counted as expired for their frontend, not as evicted",
  () =>
    withGateway({ timeouts: { synS: 2, establishedS: 600, closingS: 1, udpS: 1 }, sweepMs: 100 }, async (lab, gw) => {
      const N = 15, U = 4;
      assertEquals((await lab.client("many", LAB.external, 80, N)).errors, {}); // closed: FIN both ways
      await lab.client("udpsend", LAB.external, 82, U); // one flow, idle after
      await waitFor(() => gw.flowsTracked() === 0, 10_000, "every flow expired");
      const got = byFrontend(gw.read().gateway!.frontends ?? []);
      assertEquals(got.get(`7 ${LAB.external}:80`), [N, 0, 0, 0, 0, N]);
      assertEquals(got.get(`10 ${LAB.external}:82`), [1, 0, 0, 0, U, 1]);
    }),
);

async function waitFor(ok: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

kernelTest(
  "gateway frontends: entries follow a thousand changes; a removed frontend's last counts go out; a successor counts on",
  () => {
    const { obj } = loadGateway(BPF_OBJ_DIR, DEFAULT_GATEWAY, LAB.node);
    try {
      const map = obj.map("gw_fe_stats");
      const stats = new FrontendStats();
      const entries = () => map.countKeys();
      for (let v = 1; v <= 1000; v++) {
        const n = 1 + (v % 7);
        const state: LbState = {
          version: v,
          services: Array.from(
            { length: n },
            (_, i) => service(i + 1, { externalIPs: [`10.244.98.${(v + i) % 200}`], nodePort: 30000 + i }),
          ),
        };
        stats.sync(obj, gatewayState(state));
        assertEquals(entries(), 2 * n, `version ${v}: an entry per frontend`);
      }
      // events counted on one CPU of a frontend that then goes: its row comes with the next read, under its service
      const external = service(3, { ...udp, protocol: "TCP" }); // one frontend: the external IP :80
      stats.sync(obj, gatewayState({ version: 1, services: [external] }));
      const counts = { flows: 5, no_backend: 2, snat_busy: 3, to_stack: 4, expired: 1 };
      const perCpu = (v: typeof counts) => {
        const b = new Uint8Array(GW_STRUCTS.gw_fe_stats.size);
        GW_FE_COUNTER_NAMES.forEach((n, i) => new DataView(b.buffer).setBigUint64(i * 8, BigInt(v[n]), true));
        return b;
      };
      const slice = perCpu(counts);
      map.update(encodeSvcKey({ vip: LAB.external, port: 80, protocol: "TCP" }), slice); // every CPU: x cpus
      stats.sync(obj, gatewayState({ version: 2, services: [] }));
      assertEquals(entries(), 0);
      const c = map.handle.cpus;
      assertEquals(stats.take(obj, 100), [[3, LAB.external, 80, 5 * c, 0, 3 * c, 2 * c, 4 * c, 1 * c]]);
      assertEquals(stats.take(obj, 100), []);

      // a successor (pinned maps adopted) takes the entries it finds as a baseline and drops those of no frontend
      const web = gatewayState({ version: 3, services: [external] });
      stats.sync(obj, web);
      map.update(encodeSvcKey({ vip: LAB.external, port: 80, protocol: "TCP" }), slice);
      map.update(encodeSvcKey({ vip: "10.244.98.250", port: 80, protocol: "TCP" }), slice);
      const successor = new FrontendStats();
      successor.sync(obj, web);
      assertEquals(entries(), 1, "the entry of no frontend removed");
      assertEquals(successor.take(obj, 100), [], "what the predecessor counted was its to report");
      // 6 more flows on each CPU's copy, all of them expired: only those go out
      map.update(
        encodeSvcKey({ vip: LAB.external, port: 80, protocol: "TCP" }),
        perCpu({ ...counts, flows: 11, expired: 7 }),
      );
      assertEquals(successor.take(obj, 100), [[3, LAB.external, 80, 6 * c, 0, 0, 0, 0, 6 * c]]);
    } finally {
      obj.close();
    }
  },
);

/**
 * The gateway program loaded (nothing attached, no pins) in a namespace of
 * our own with the lab's state programmed: `syn` and `udp` run a client's
 * packet through gw_xdp (BPF_PROG_TEST_RUN; the namespace has no route, the
 * translated packet goes nowhere), so flows are made and counted by the
 * real datapath, one per source port.
 */
async function withPackets(
  flowEntries: number,
  fn: (r: {
    obj: BpfObject;
    gw: LbState;
    programmed: () => Map<string, number>;
    syn: (ports: number[]) => void;
    udp: (port: number, n: number) => void;
  }) => void,
): Promise<void> {
  const ns = `${netnsPrefix()}gwfe${Math.floor(Math.random() * 1e6)}`;
  await createNetns(ns);
  try {
    const { obj, programmer } = loadGateway(BPF_OBJ_DIR, { ...DEFAULT_GATEWAY, flowEntries }, LAB.node);
    try {
      const gw = gatewayState(labState(1));
      const dests = { external: [LAB.external], addresses: [LAB.node], snatIp: LAB.node };
      writeDests(obj, dests, true);
      programmer.apply(gw, performance.now());
      writeDests(obj, dests);
      const prog = obj.program("gw_xdp");
      const send = (f: Uint8Array) => withNetns(ns, () => prog.testRun({ data: f }));
      fn({
        obj,
        gw,
        programmed: () => programmer.serviceIds(),
        syn: (ports) => {
          for (const sport of ports) {
            send(frame({ src: LAB.client, dst: LAB.external, proto: "tcp", sport, dport: 80 }));
          }
        },
        udp: (dport, n) => {
          for (let i = 0; i < n; i++) {
            send(frame({ src: LAB.client, dst: LAB.external, proto: "udp", sport: 5000, dport }));
          }
        },
      });
    } finally {
      obj.close();
    }
  } finally {
    await deleteNetns(ns);
  }
}

/** Source ports from..from+n-1: a new flow each. */
const ports = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
/** What the record in epoch.json gives back (JSON and the record's schema). */
const throughRecord = (h: FrontendHandOver) => FrontendHandOver.parse(JSON.parse(JSON.stringify(h)));

kernelTest(
  "gateway frontends: a hand-over passes what was reported; the successor reports the rest from its adoption, before any state, exactly once",
  () =>
    withPackets(16, ({ obj, gw, programmed, syn, udp }) => {
      const web = `7 ${LAB.external}:80`, empty = `9 ${LAB.external}:81`;
      const before = new FrontendStats();
      before.sync(obj, gw);
      syn(ports(40000, 10));
      const first = before.take(obj, 100);
      assertEquals(byFrontend(first).get(web)?.[0], 10);
      // after its last read: more flows (the table of 16 evicts some), and a frontend removed whose last row
      // does not fit in that read
      syn(ports(41000, 20));
      udp(81, 3);
      before.sync(obj, gatewayState({ version: 2, services: labState(2).services.filter((s) => s.id !== 9) }));
      assertEquals(before.take(obj, 0), [], "no room: the removed frontend's row waits");
      const record = throughRecord(before.handOver());

      const after = new FrontendStats();
      after.adopt(obj, programmed(), record);
      syn(ports(42000, 5)); // before the successor's first state
      const second = after.take(obj, 100);
      after.sync(obj, gatewayState({ version: 2, services: labState(2).services.filter((s) => s.id !== 9) }));
      syn(ports(43000, 4));
      const third = after.take(obj, 100);
      assertEquals(after.take(obj, 100), [], "nothing twice");

      const got = byFrontend([...second, ...third]);
      assertEquals(got.get(empty), [0, 0, 0, 3, 0, 0], "the removed frontend's last row, carried over");
      const made = 10 + 20 + 5 + 4;
      const all = byFrontend([...first, ...second, ...third]).get(web)!;
      assertEquals(all[0], made, "flows: each once");
      assertEquals(all[1], made - obj.map("gw_ct").countKeys(), "evictions: each once");
      assertEquals(got.get(web)?.[0], 20 + 5 + 4, "the successor's: from the predecessor's last read on");
    }),
);

kernelTest(
  "gateway frontends: after a crash (no record) the successor counts from its adoption, never what the predecessor counted",
  () =>
    withPackets(16, ({ obj, gw, programmed, syn }) => {
      const web = `7 ${LAB.external}:80`;
      const before = new FrontendStats();
      before.sync(obj, gw);
      syn(ports(40000, 10));
      const first = before.take(obj, 100);
      syn(ports(41000, 20)); // counted, never read: lost with the predecessor
      const evictedThen = 30 - obj.map("gw_ct").countKeys();

      const after = new FrontendStats();
      after.adopt(obj, programmed());
      syn(ports(42000, 5)); // before the successor's first state
      const second = after.take(obj, 100);
      after.sync(obj, gw);
      syn(ports(43000, 4));
      const third = after.take(obj, 100);
      const got = byFrontend([...second, ...third]).get(web)!;
      assertEquals(got[0], 5 + 4, "flows since the adoption");
      assertEquals(got[1], 39 - obj.map("gw_ct").countKeys() - evictedThen, "evictions since the adoption");
      assertEquals(byFrontend(first).get(web)![0], 10, "the predecessor's: its own read only");
    }),
);

kernelTest(
  "gateway frontends: a flow made while a read is under way is not counted as evicted",
  () =>
    withPackets(1024, ({ obj, gw, syn }) => {
      const stats = new FrontendStats();
      stats.sync(obj, gw);
      syn(ports(40000, 3));
      // the program makes a flow between the read's two looks at the kernel (gw_fe_stats, gw_ct): whichever is first
      let last = "", made = 0;
      const racing = new Proxy(obj, {
        get(target, p) {
          if (p !== "map") return Reflect.get(target, p, target);
          return (name: string) => {
            if (last && name !== last && !made++) syn([50000]);
            last = name;
            return target.map(name);
          };
        },
      });
      // [flows, evicted, snatBusy, noBackend, toStack (no route here), expired]
      const rows = [...stats.take(racing, 100), ...stats.take(obj, 100), ...stats.take(obj, 100)];
      assertEquals(made, 1, "a flow made between the reads");
      assertEquals(byFrontend(rows).get(`7 ${LAB.external}:80`), [4, 0, 0, 0, 4, 0], "4 flows, none evicted");
    }),
);

kernelTest(
  "gateway frontends: a thousand hand-overs in a row, each with events after the last read: every flow and eviction reported once",
  () =>
    withPackets(16, ({ obj, gw, programmed, syn, udp }) => {
      const rows: GatewayFrontendRow[] = [];
      let stats = new FrontendStats();
      stats.sync(obj, gw);
      for (let i = 0; i < 1000; i++) {
        syn([10000 + i * 2]);
        rows.push(...stats.take(obj, 100));
        syn([10001 + i * 2]); // after the last read
        udp(81, 1);
        const next = new FrontendStats();
        next.adopt(obj, programmed(), throughRecord(stats.handOver()));
        if (i % 3 === 0) next.sync(obj, gw); // the state comes before the next hand-over, or not
        stats = next;
      }
      rows.push(...stats.take(obj, 100));
      const got = byFrontend(rows);
      assertEquals(got.get(`7 ${LAB.external}:80`)?.slice(0, 2), [2000, 2000 - obj.map("gw_ct").countKeys()]);
      assertEquals(got.get(`9 ${LAB.external}:81`), [0, 0, 0, 1000, 0, 0]);
    }),
);
