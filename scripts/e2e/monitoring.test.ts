// SPDX-License-Identifier: Apache-2.0
/**
 * Data monitoring end to end, on the real kernel, through the JSON API only:
 * a two-node lab with four pods, the real control plane and an agent per node
 * following its node's pods file. Traffic of known size between pods on the
 * same node and across nodes, both directions; exact packets and bytes per
 * flow (each packet counted once although both nodes saw the cross-node ones)
 * and per pod, equal to what was sent and to the kernel's own veth
 * statistics; a refused connection; retransmits induced by a test-only tc
 * program that drops packets (no sch_netem here), equal to the pods' own
 * RetransSegs; drops with their kernel reason; a pod deleted mid-run shown
 * "vanished", then gone once the grace period has passed.
 *
 * Pods (lab "mon"): A = n1-p1, B = n1-p2 on node mon-n1; C = n2-p1, D = n2-p2 on mon-n2.
 */
import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Cluster, type Counters, delta } from "../cluster.ts";
import { cgroupPath } from "../lab/cgroup.ts";
import { removePod } from "../lab/lab.ts";
import { listNetns } from "../lab/shell.ts";
import type { NodeSpec, PodSpec } from "../lab/topology.ts";
import {
  killRunning,
  Lossy,
  podView,
  programExists,
  refusedConnection,
  RST_FRAME,
  running,
  SYN_HDRS,
  TCP_HDRS,
  tcpSnmp,
  tcpTransfer,
  UDP_HDRS,
  type UdpExchange,
  udpExchange,
} from "../lab/traffic.ts";
import { waitFor } from "../procs.ts";
import { kernelMissing } from "./kernel.ts";

const missing = kernelMissing();

const GRACE_S = 8;
/** What the kernel holds of a SYN it drops for want of a socket: the TCP header (40) on. */
const SYN_DROPPED_BYTES = 40;

const ZERO: Counters = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0 };
const plus = (a: Counters, b: Counters): Counters => ({
  rxPackets: a.rxPackets + b.rxPackets,
  rxBytes: a.rxBytes + b.rxBytes,
  txPackets: a.txPackets + b.txPackets,
  txBytes: a.txBytes + b.txBytes,
});
/** a - b */
const minus = (a: Counters, b: Counters): Counters => delta(b, a);

// ---------------------------------------------------------------------------
// the API's shapes (the contract)

interface Endpoint {
  kind: "pod" | "service" | "world" | "other";
  label: string;
  uid?: string;
  namespace?: string;
  name?: string;
  node?: string;
  ip?: string;
}
interface Window {
  since: string;
  until: string;
  level: string;
  seconds: number;
}
interface ApiPod {
  uid: string;
  namespace: string;
  name: string;
  node: string;
  ips: string[];
  labels: Record<string, string>;
  hostVeth: string | null;
  state: "current" | "vanished";
  firstSeen: string;
  lastSeen: string;
  vanishedAt: string | null;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  drops: number;
}
interface Dir {
  packets: number;
  bytes: number;
}
interface ApiFlow {
  source: Endpoint;
  destination: Endpoint;
  port: number;
  proto: number;
  protocol: string;
  forward: Dir;
  reverse: Dir;
  tcpFlags: string[];
  bytesPerSec: number;
}
interface ApiConn {
  local: Endpoint;
  remote: Endpoint;
  port: number;
  role: string;
  opened: number;
  failed: { refused: number; timeout: number; other: number };
  closed: number;
  avgDurationMs: number | null;
  retransmits: number;
  resets: { received: number; sent: number };
  avgSrttUs: number | null;
}
interface ApiDrop {
  node: string;
  pod: Endpoint | null;
  ifname: string | null;
  reason: string;
  packets: number;
  bytes: number;
}

// ---------------------------------------------------------------------------

describe.skipIf(missing)("data monitoring end to end (pods, flows, TCP, drops) on a two-node lab", () => {
  let c: Cluster;
  let down = false;
  let lossy: Lossy | undefined;
  let A: PodSpec, B: PodSpec, C: PodSpec, D: PodSpec;
  let n1: NodeSpec, n2: NodeSpec;
  /** Each pod's kernel view when the agents were up (the lab is silent until the test speaks). */
  const base = new Map<string, Counters>();
  /** Each pod's counters as the test expects them, cumulative. */
  const want = new Map<string, Counters>();
  const agentPids: number[] = [];
  /** Start of each phase (ms), for the API's windows. */
  let t0 = 0, tRefused = 0, tLossy = 0, tDelete = 0;

  const iso = (ms: number) => new Date(ms).toISOString();
  const podKey = (p: PodSpec) => `lab/${p.name}`;
  const uid = (p: PodSpec) => `lab-${p.netns}`;
  const nodeOf = (p: PodSpec) => (p.node === "n1" ? n1 : n2);
  const fail = (e: Error, extra = ""): never => {
    throw new Error(`${e.message}\n${extra}\n${c.logs()}`);
  };
  /** Polls until `ok(value)`, then returns the value; a timeout reports the last value and the processes' logs. */
  /** Whether a socket of the pod on this port may still send (any state but listening and TIME-WAIT, which only answers). */
  function sendingOn(p: PodSpec, port: number): boolean {
    const out = execFileSync("ip", [
      "netns",
      "exec",
      p.netns,
      "ss",
      "-Htan",
      "exclude",
      "listening",
      "exclude",
      "time-wait",
    ], { encoding: "utf8" });
    return out.split("\n").some((l) => new RegExp(`:${port}\\s`).test(l));
  }

  async function until<T>(what: string, get: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
    let last: T | undefined;
    const found = await waitFor(what, async () => {
      last = await get();
      return ok(last) ? { value: last } : null; // wrapped: the value itself may be falsy
    }, ms).catch((e) => fail(e, `last: ${JSON.stringify(last, null, 1)}`));
    return found.value;
  }

  const pods = async (q = "") => (await c.get<{ pods: ApiPod[] }>(`/api/v1/pods${q}`)).pods;
  const counters = (p: ApiPod | undefined): Counters | undefined =>
    p && { rxPackets: p.rxPackets, rxBytes: p.rxBytes, txPackets: p.txPackets, txBytes: p.txBytes };
  const flows = (since: number, to?: number, q = "") =>
    c.get<{ window: Window; flows: ApiFlow[]; totals: Dir }>(
      `/api/v1/flows?since=${iso(since)}${to ? `&until=${iso(to)}` : ""}${q}`,
    );
  const tcp = (since: number, to?: number, q = "") =>
    c.get<{ window: Window; connections: ApiConn[]; totals: Record<string, number> }>(
      `/api/v1/tcp?since=${iso(since)}${to ? `&until=${iso(to)}` : ""}${q}`,
    );
  const drops = (since: number, to?: number, q = "") =>
    c.get<{ window: Window; drops: ApiDrop[]; byReason: { reason: string; packets: number; bytes: number }[] }>(
      `/api/v1/drops?since=${iso(since)}${to ? `&until=${iso(to)}` : ""}${q}`,
    );
  /** Flows as "client>server:port/protocol" -> [forward, reverse]. */
  const flowMap = (fs: ApiFlow[]) =>
    Object.fromEntries(
      fs.map((f) => [`${f.source.label}>${f.destination.label}:${f.port}/${f.protocol}`, [f.forward, f.reverse]]),
    );

  /** A test body whose failure message carries the processes' logs (until() adds them itself). */
  const logged = (fn: () => Promise<void>) => async () => {
    try {
      await fn();
    } catch (e) {
      if (e instanceof Error && c && !e.message.includes("--- control")) e.message += `\n${c.logs()}`;
      throw e;
    }
  };

  type TcpResponse = Awaited<ReturnType<typeof tcp>>;
  /** Rows of pods' own sockets (a node's own, e.g. an agent reconnecting to the control plane, are not the test's). */
  const podRows = (t: TcpResponse) => t.connections.filter((x) => x.local.kind === "pod");
  /** Totals the test expects of its pods, plus whatever the nodes' own sockets did in the window. */
  const plusNodeOwn = (
    t: TcpResponse,
    pods: Record<"opened" | "failed" | "closed" | "retransmits" | "resets", number>,
  ) =>
    t.connections.filter((x) => x.local.kind !== "pod").reduce((s, x) => ({
      opened: s.opened + x.opened,
      failed: s.failed + x.failed.refused + x.failed.timeout + x.failed.other,
      closed: s.closed + x.closed,
      retransmits: s.retransmits + x.retransmits,
      resets: s.resets + x.resets.received + x.resets.sent,
    }), pods);

  function add(p: PodSpec, d: Counters) {
    want.set(p.name, plus(want.get(p.name) ?? ZERO, d));
  }

  /** Every live pod's counters in /api/v1/pods equal what the test expects and what the kernel's veth statistics say. */
  async function expectPodCounters(what: string, live: PodSpec[]) {
    const got = await until(
      what,
      () => pods(),
      (ps) =>
        live.every((p) =>
          JSON.stringify(counters(ps.find((x) => x.name === p.name))) === JSON.stringify(want.get(p.name))
        ),
    );
    for (const p of live) {
      expect(counters(got.find((x) => x.name === p.name)), `${p.name} in /api/v1/pods`).toEqual(want.get(p.name));
      expect(minus(podView(nodeOf(p), p), base.get(p.name)!), `${p.name}: the kernel's statistics of its veth`).toEqual(
        want.get(p.name),
      );
    }
    return got;
  }

  beforeAll(async () => {
    c = new Cluster({
      name: "mon",
      index: 11,
      nodes: 2,
      pods: 2,
      port: 19_000 + (process.pid % 400),
      controlEnv: { EBPF_K8S_POD_GRACE: `${GRACE_S}s`, EBPF_K8S_MAINTENANCE_INTERVAL: "2s" },
    });
    [n1, n2] = [c.node(0), c.node(1)];
    [A, B] = n1.pods;
    [C, D] = n2.pods;
    await c.startControl();
    await c.createJoinToken();
  }, 60_000);

  afterAll(async () => {
    killRunning();
    lossy?.detach();
    if (!down) await c?.down();
  });

  it(
    "lists every pod of both nodes, current, with its metadata",
    logged(async () => {
      for (const node of [n1, n2]) agentPids.push(c.startAgent(node).child.pid!);
      const got = await until(
        "all four pods listed, current",
        () => pods(),
        (ps) => ps.filter((p) => p.state === "current").length === 4,
        60_000,
      );
      for (const p of [A, B, C, D]) {
        base.set(p.name, podView(nodeOf(p), p));
      }
      const byName = Object.fromEntries(got.map((p) => [p.name, p]));
      for (const p of [A, B, C, D]) {
        expect(byName[p.name]).toMatchObject({
          uid: uid(p),
          namespace: "lab",
          name: p.name,
          node: c.nodeName(nodeOf(p)),
          ips: [p.ip],
          hostVeth: p.hostVeth,
          state: "current",
          vanishedAt: null,
        });
      }
      expect((await pods("?node=mon-n1")).map((p) => p.name).sort()).toEqual(["n1-p1", "n1-p2"]);
      expect((await pods("?node=mon-n2&namespace=lab")).map((p) => p.name).sort()).toEqual(["n2-p1", "n2-p2"]);
      expect(await pods("?namespace=elsewhere")).toEqual([]);
      const one = await c.get<ApiPod>("/api/v1/pods/lab/n2-p1");
      expect(one).toMatchObject({ uid: uid(C), name: "n2-p1", node: "mon-n2", state: "current" });
      expect((await fetch(`${c.url}/api/v1/pods/lab/nosuch`)).status).toBe(404);
    }),
    90_000,
  );

  it(
    "counts known-size transfers exactly, per flow (both directions, once although both nodes saw them) and per pod",
    logged(async () => {
      t0 = Date.now();
      const udp: UdpExchange[] = [
        { client: A, server: C, port: 7001, n: 10, req: 300, rep: 700 }, // across nodes
        { client: B, server: A, port: 7002, n: 6, req: 200, rep: 100 }, // on one node
        { client: D, server: B, port: 7003, n: 4, req: 120, rep: 60 }, // across nodes, from the pod deleted later
      ];
      for (const x of udp) {
        await udpExchange(x);
        const up = { packets: x.n, bytes: x.n * (x.req + UDP_HDRS) },
          down = { packets: x.n, bytes: x.n * (x.rep + UDP_HDRS) };
        add(x.client, { txPackets: up.packets, txBytes: up.bytes, rxPackets: down.packets, rxBytes: down.bytes });
        add(x.server, { rxPackets: up.packets, rxBytes: up.bytes, txPackets: down.packets, txBytes: down.bytes });
      }
      // the kernel agrees with the arithmetic
      for (const p of [A, B, C, D]) {
        expect(minus(podView(nodeOf(p), p), base.get(p.name)!), `${p.name} after UDP`).toEqual(want.get(p.name));
      }

      // TCP across nodes, C -> B: the payload is exact; packets (segmentation is the kernel's choice) are the veths' statistics
      const SIZE = 100_000;
      const [c0, b0] = [podView(n2, C), podView(n1, B)];
      const r0 = [C, B].map((p) => tcpSnmp(p, "RetransSegs"));
      await tcpTransfer(C, B, 5001, SIZE);
      const [dc, db] = [minus(podView(n2, C), c0), minus(podView(n1, B), b0)];
      // none on a quiet lab; a loaded machine may send a spurious one (a tail loss probe): then it is counted, not assumed
      const rtx = [C, B].map((p, i) => tcpSnmp(p, "RetransSegs") - r0[i]);
      if (rtx[0] === 0) expect(dc.txBytes - SYN_HDRS - TCP_HDRS * (dc.txPackets - 1), "payload C sent").toBe(SIZE);
      expect([dc.txPackets, dc.txBytes, dc.rxPackets, dc.rxBytes]).toEqual([
        db.rxPackets,
        db.rxBytes,
        db.txPackets,
        db.txBytes,
      ]);
      add(C, dc);
      add(B, db);

      const l = (p: PodSpec) => podKey(p);
      const wantFlows = {
        ...Object.fromEntries(udp.map((x) => [`${l(x.client)}>${l(x.server)}:${x.port}/udp`, [
          { packets: x.n, bytes: x.n * (x.req + UDP_HDRS) },
          { packets: x.n, bytes: x.n * (x.rep + UDP_HDRS) },
        ]])),
        [`${l(C)}>${l(B)}:5001/tcp`]: [{ packets: dc.txPackets, bytes: dc.txBytes }, {
          packets: dc.rxPackets,
          bytes: dc.rxBytes,
        }],
      };
      const got = await until(
        "the flows, exactly",
        () => flows(t0),
        (r) =>
          Object.keys(wantFlows).every((k) => JSON.stringify(flowMap(r.flows)[k]) === JSON.stringify(wantFlows[k])),
      );
      expect(flowMap(got.flows), "each flow exactly once: nothing counted twice, nothing else").toEqual(wantFlows);
      const sum = Object.values(wantFlows).reduce(
        (s, [f, r]) => ({ packets: s.packets + f.packets + r.packets, bytes: s.bytes + f.bytes + r.bytes }),
        { packets: 0, bytes: 0 },
      );
      expect(got.totals).toEqual(sum);
      expect(got.window).toMatchObject({
        level: "raw",
        since: expect.any(String),
        until: expect.any(String),
        seconds: expect.any(Number),
      });
      const tcpFlow = got.flows.find((f) => f.port === 5001)!;
      expect(tcpFlow).toMatchObject({
        source: { kind: "pod", uid: uid(C), namespace: "lab", name: "n2-p1", node: "mon-n2" },
        destination: { kind: "pod", uid: uid(B), namespace: "lab", name: "n1-p2", node: "mon-n1" },
        proto: 6,
        protocol: "tcp",
      });
      expect(tcpFlow.tcpFlags).toEqual(expect.arrayContaining(["SYN", "FIN", "ACK"]));
      expect(got.flows.find((f) => f.port === 7001)).toMatchObject({ proto: 17, tcpFlags: [] });

      // by pod: the flows it is on either side of
      const ofA = await flows(t0, undefined, `&pod=${l(A)}`);
      expect(Object.keys(flowMap(ofA.flows)).sort()).toEqual([`${l(A)}>${l(C)}:7001/udp`, `${l(B)}>${l(A)}:7002/udp`]);
      // by reporting node: what its own pods sent (the sender's observation is the one kept), so each direction of a
      // cross-node flow comes from the sender's node only
      const none = { packets: 0, bytes: 0 };
      const [a7001, b7002, d7003, c5001] = [
        `${l(A)}>${l(C)}:7001/udp`,
        `${l(B)}>${l(A)}:7002/udp`,
        `${l(D)}>${l(B)}:7003/udp`,
        `${l(C)}>${l(B)}:5001/tcp`,
      ];
      const fromNode = (node: string) => flows(t0, undefined, `&node=${node}`).then((r) => flowMap(r.flows));
      const zeroFree = (m: Record<string, Dir[]>) =>
        Object.fromEntries(Object.entries(m).filter(([, [f, r]]) => f.packets + r.packets > 0));
      expect(zeroFree(await fromNode("mon-n1"))).toEqual({
        [a7001]: [wantFlows[a7001][0], none],
        [b7002]: wantFlows[b7002],
        [d7003]: [none, wantFlows[d7003][1]],
        [c5001]: [none, wantFlows[c5001][1]],
      });
      expect(zeroFree(await fromNode("mon-n2"))).toEqual({
        [a7001]: [none, wantFlows[a7001][1]],
        [d7003]: [wantFlows[d7003][0], none],
        [c5001]: [wantFlows[c5001][0], none],
      });

      await expectPodCounters("pod counters after the transfers", [A, B, C, D]);

      // TCP health: one connection opened and closed on each side, no failure, retransmits as the pods' RetransSegs (0)
      const t = await until(
        "the TCP connection on both sides",
        () => tcp(t0),
        (r) => r.connections.filter((x) => x.port === 5001 && x.closed === 1).length === 2,
      );
      const conn = (
        r: ApiConn,
      ) => [r.local.label, r.remote.label, r.port, r.role, r.opened, r.closed, r.failed, r.retransmits, r.resets];
      expect(t.connections.filter((x) => x.port === 5001).map(conn).sort()).toEqual([
        [l(B), l(C), 5001, "server", 1, 1, { refused: 0, timeout: 0, other: 0 }, rtx[1], { received: 0, sent: 0 }],
        [l(C), l(B), 5001, "client", 1, 1, { refused: 0, timeout: 0, other: 0 }, rtx[0], { received: 0, sent: 0 }],
      ].sort());
      const client = t.connections.find((x) => x.port === 5001 && x.role === "client")!;
      expect(client.avgSrttUs).toBeGreaterThan(0);
      expect(client.avgDurationMs).toBeGreaterThanOrEqual(0);
    }),
    90_000,
  );

  it(
    "a refused connection: failed.refused for the client, the reset it received, the SYN dropped NO_SOCKET at the server",
    logged(async () => {
      tRefused = Date.now();
      const [a0, c0] = [podView(n1, A), podView(n2, C)];
      await refusedConnection(A, C, 81);
      // one SYN there, one reset back: exact frames, as the kernel counted them
      const syn = { packets: 1, bytes: SYN_HDRS }, rst = { packets: 1, bytes: RST_FRAME };
      expect(minus(podView(n1, A), a0)).toEqual({ txPackets: 1, txBytes: SYN_HDRS, rxPackets: 1, rxBytes: RST_FRAME });
      expect(minus(podView(n2, C), c0)).toEqual({ rxPackets: 1, rxBytes: SYN_HDRS, txPackets: 1, txBytes: RST_FRAME });
      add(A, { txPackets: 1, txBytes: SYN_HDRS, rxPackets: 1, rxBytes: RST_FRAME });
      add(C, { rxPackets: 1, rxBytes: SYN_HDRS, txPackets: 1, txBytes: RST_FRAME });

      const t = await until(
        "the refused connection",
        () => tcp(tRefused),
        (r) => r.connections.some((x) => x.port === 81),
      );
      expect(
        podRows(t).map((
          x,
        ) => [x.local.label, x.remote.label, x.port, x.role, x.opened, x.failed, x.closed, x.resets, x.retransmits]),
      ).toEqual([
        [podKey(A), podKey(C), 81, "client", 0, { refused: 1, timeout: 0, other: 0 }, 0, { received: 1, sent: 0 }, 0],
      ]);
      expect(t.totals).toEqual(plusNodeOwn(t, { opened: 0, failed: 1, closed: 0, retransmits: 0, resets: 1 }));
      expect((await tcp(tRefused, undefined, `&pod=${podKey(A)}`)).totals).toEqual({
        opened: 0,
        failed: 1,
        closed: 0,
        retransmits: 0,
        resets: 1,
      });

      const d = await until("the dropped SYN", () => drops(tRefused), (r) => r.drops.length > 0);
      expect(d.drops.map((x) => [x.node, x.pod?.uid, x.reason, x.packets, x.bytes])).toEqual([[
        "mon-n2",
        uid(C),
        "NO_SOCKET",
        1,
        SYN_DROPPED_BYTES,
      ]]);
      expect(d.byReason).toEqual([{ reason: "NO_SOCKET", packets: 1, bytes: SYN_DROPPED_BYTES }]);
      const f = await flows(tRefused);
      expect(flowMap(f.flows)).toEqual({ [`${podKey(A)}>${podKey(C)}:81/tcp`]: [syn, rst] });
      expect(f.flows[0].tcpFlags).toEqual(expect.arrayContaining(["SYN", "RST"]));
      await expectPodCounters("pod counters after the refused connection", [A, B, C, D]);
    }),
    60_000,
  );

  it(
    "retransmits under packet loss: per pod equal to its own RetransSegs; the lost packets are drops at the veth (TC_EGRESS)",
    logged(async () => {
      // one segment per skb: the retransmit tracepoint fires per skb, RetransSegs counts segments
      for (const p of [B, C]) execFileSync("ip", ["-n", p.netns, "link", "set", "dev", "eth0", "gso_max_segs", "1"]);
      tLossy = Date.now();
      const before = [B, C].map((p) => tcpSnmp(p, "RetransSegs"));
      const [b0, c0] = [podView(n1, B), podView(n2, C)];
      lossy = new Lossy(n2, C.hostVeth, Lossy.compile(c.dir));
      lossy.attach();
      let shot = 0;
      try {
        await tcpTransfer(B, C, 5002, 300_000);
        // a lost FIN or last ACK is sent again after the transfer ended: count once no socket of it can send
        await waitFor(
          "the lossy connection's sockets to go quiet",
          async () => [B, C].every((p) => !sendingOn(p, 5002)),
          20_000,
        );
        shot = lossy.dropped();
      } finally {
        lossy.detach();
      }
      // (the program itself is freed after an RCU grace period, which can take seconds: checked at the end)
      expect(lossy.present(), "the lossy filter is removed").toBe(false);
      const retrans = [B, C].map((p, i) => tcpSnmp(p, "RetransSegs") - before[i]);
      expect(shot, "the program dropped packets").toBeGreaterThan(0);
      expect(retrans[0], "B retransmitted").toBeGreaterThan(0);
      const [db, dc] = [minus(podView(n1, B), b0), minus(podView(n2, C), c0)];
      add(B, db);
      add(C, dc);

      const t = await until(
        "the retransmits",
        () => tcp(tLossy),
        (r) =>
          r.connections.filter((x) => x.port === 5002).reduce((s, x) => s + x.retransmits, 0) ===
            retrans[0] + retrans[1] &&
          r.connections.filter((x) => x.port === 5002 && x.closed === 1).length === 2,
      );
      const of = (p: PodSpec) => t.connections.filter((x) => x.local.uid === uid(p) && x.port === 5002);
      expect(
        [of(B).reduce((s, x) => s + x.retransmits, 0), of(C).reduce((s, x) => s + x.retransmits, 0)],
        "retransmits per pod = RetransSegs",
      ).toEqual(retrans);
      expect(of(B).filter((x) => x.role === "client").map((x) => [x.remote.label, x.opened, x.closed, x.failed]))
        .toEqual([[podKey(C), 1, 1, { refused: 0, timeout: 0, other: 0 }]]);
      // A retransmitted SYN (the socket still SYN_SENT) is the client's too: B has one row.
      expect(of(B).filter((x) => x.role !== "client")).toEqual([]);
      expect(of(C).map((x) => [x.role, x.remote.label, x.opened, x.closed])).toEqual([["server", podKey(B), 1, 1]]);
      // each pod's own view (pod filter): its totals are its retransmits
      for (const [i, p] of [B, C].entries()) {
        expect((await tcp(tLossy, undefined, `&pod=${podKey(p)}`)).totals.retransmits, p.name).toBe(retrans[i]);
      }
      // Cluster totals count each connection once (the client's row of a pod-to-pod connection), and the
      // retransmits of both ends.
      const own = plusNodeOwn(t, { opened: 1, failed: 0, closed: 1, retransmits: 0, resets: 0 });
      expect(t.totals.retransmits - own.retransmits).toBe(retrans[0] + retrans[1]);
      expect(t.totals).toMatchObject({ opened: own.opened, closed: own.closed, failed: own.failed });

      const d = await until(
        "the lost packets as drops",
        () => drops(tLossy),
        (r) => r.drops.some((x) => x.reason === "TC_EGRESS" && x.packets === shot),
      );
      expect(d.drops.filter((x) => x.reason === "TC_EGRESS").map((x) => [x.node, x.pod?.uid, x.ifname, x.packets]))
        .toEqual([["mon-n2", uid(C), C.hostVeth, shot]]);
      expect(d.byReason.find((x) => x.reason === "TC_EGRESS")?.packets).toBe(shot);

      // the flow: what each side sent (lost packets included: they left B), the veths' own statistics
      const f = await until(
        "the lossy flow",
        () => flows(tLossy),
        (r) => r.flows.some((x) => x.port === 5002 && x.forward.packets === db.txPackets),
      );
      expect(flowMap(f.flows)).toEqual({
        [`${podKey(B)}>${podKey(C)}:5002/tcp`]: [{ packets: db.txPackets, bytes: db.txBytes }, {
          packets: dc.txPackets,
          bytes: dc.txBytes,
        }],
      });
      expect(db.txPackets - shot, "what C received: what B sent less what was lost").toBe(dc.rxPackets);

      const got = await expectPodCounters("pod counters after the lossy transfer", [A, B, C, D]);
      // each pod's drops: the sum of its drop records since the agents started
      const all = await drops(t0 - 60_000);
      for (const p of [A, B, C, D]) {
        const sum = all.drops.filter((x) => x.pod?.uid === uid(p)).reduce((s, x) => s + x.packets, 0);
        expect(got.find((x) => x.name === p.name)!.drops, `${p.name}'s drops`).toBe(sum);
      }
      expect(got.find((x) => x.name === C.name)!.drops).toBeGreaterThanOrEqual(1 + shot);
    }),
    90_000,
  );

  it(
    "the service map: pods as nodes, an edge per talking pair with its bytes",
    logged(async () => {
      const m = await c.get<
        {
          window: Window;
          nodes: { id: string; label: string; kind: string }[];
          edges: { source: string; target: string; bytes: number; connections: number; failures: number }[];
        }
      >(
        `/api/v1/servicemap?since=${iso(t0)}`,
      );
      for (const p of [A, B, C, D]) {
        expect(m.nodes.find((x) => x.id === `pod:${uid(p)}`), p.name).toMatchObject({ kind: "pod", label: podKey(p) });
      }
      const all = await flows(t0);
      const bytesBetween = (a: PodSpec, b: PodSpec) =>
        all.flows.filter((f) => f.source.uid === uid(a) && f.destination.uid === uid(b))
          .reduce((s, f) => s + f.forward.bytes + f.reverse.bytes, 0);
      const edge = (a: PodSpec, b: PodSpec) =>
        m.edges.find((e) => e.source === `pod:${uid(a)}` && e.target === `pod:${uid(b)}`);
      for (const [a, b] of [[A, C], [B, A], [D, B], [C, B], [B, C]] as const) {
        expect(edge(a, b)?.bytes, `${a.name} -> ${b.name}`).toBe(bytesBetween(a, b));
      }
      expect(edge(A, C)?.failures).toBe(1); // the refused connection
      // exactly these edges between pods; any other edge is between the nodes' own addresses (an agent's connection
      // to the control plane, say, when it had to reconnect), never a pod's
      const pairs = [[A, C], [B, A], [D, B], [C, B], [B, C]].map(([a, b]) => `pod:${uid(a)} -> pod:${uid(b)}`).sort();
      const isPod = (id: string) => id.startsWith("pod:");
      expect(
        m.edges.filter((e) => isPod(e.source) || isPod(e.target)).map((e) => `${e.source} -> ${e.target}`).sort(),
        JSON.stringify(m, null, 1),
      ).toEqual(pairs);
      expect(
        m.edges.filter((e) => !isPod(e.source) && !isPod(e.target)).filter((e) =>
          !e.source.startsWith("ip:10.250.11.") || !e.target.startsWith("ip:10.250.11.")
        ),
        JSON.stringify(m, null, 1),
      ).toEqual([]);
    }),
    30_000,
  );

  // A pod still in the node's pod list whose veth is gone (its sandbox deleted first, as Kubernetes does, or the
  // lab's removePod) keeps reporting its last totals (agent/modules/flows/module.ts #podTraffic): cumulative
  // counters never go down within a boot. Made deterministic here: the netns goes, two agent intervals pass, only
  // then does the pods file say so.
  it(
    "a pod whose sandbox is gone keeps its totals until it leaves its node's pod list",
    logged(async () => {
      tDelete = Date.now();
      execFileSync("ip", ["netns", "del", D.netns]); // its veth goes with it; the pods file still lists it
      await new Promise((r) => setTimeout(r, 1500));
      const p = await c.get<ApiPod>("/api/v1/pods/lab/n2-p2");
      expect(p.state).toBe("current");
      expect(counters(p), "its totals stand").toEqual(want.get(D.name));
    }),
    30_000,
  );

  it(
    "a deleted pod is listed as vanished, then gone once the grace period has passed; its flows keep its name",
    logged(async () => {
      tDelete ||= Date.now();
      removePod(c.lab, D.name); // the pods file leaves it out now (its netns is gone already)
      const vanished = await until(
        "n2-p2 vanished",
        () => c.get<ApiPod>("/api/v1/pods/lab/n2-p2"),
        (p) => p.state === "vanished",
        10_000,
      );
      expect(vanished).toMatchObject({ uid: uid(D), namespace: "lab", name: "n2-p2", node: "mon-n2" });
      const vanishedAt = Date.parse(vanished.vanishedAt!);
      expect(vanishedAt).toBeGreaterThanOrEqual(tDelete - 1000);
      expect(vanishedAt).toBeLessThanOrEqual(Date.now());
      const listed = await pods();
      expect(listed.map((p) => [p.name, p.state]).sort()).toEqual([["n1-p1", "current"], ["n1-p2", "current"], [
        "n2-p1",
        "current",
      ], ["n2-p2", "vanished"]]);
      expect((await pods("?node=mon-n2")).map((p) => [p.name, p.state]).sort()).toEqual([["n2-p1", "current"], [
        "n2-p2",
        "vanished",
      ]]);

      const gone = await until(
        "n2-p2 gone",
        async () => (await fetch(`${c.url}/api/v1/pods/lab/n2-p2`)).status,
        (s) => s === 404,
        (GRACE_S + 15) * 1000,
      );
      expect(gone).toBe(404);
      expect(Date.now() - vanishedAt, "not before the grace period").toBeGreaterThanOrEqual(GRACE_S * 1000 - 500);
      expect(
        (await pods()).map((p) => p.name).sort(),
      ).toEqual(["n1-p1", "n1-p2", "n2-p1"]);
      // its traffic stays in the statistics, under its name
      const f = await flows(t0, tRefused);
      expect(flowMap(f.flows)[`${podKey(D)}>${podKey(B)}:7003/udp`]).toEqual([{
        packets: 4,
        bytes: 4 * (120 + UDP_HDRS),
      }, { packets: 4, bytes: 4 * (60 + UDP_HDRS) }]);
      // and the other pods are untouched
      await expectPodCounters("the other pods' counters", [A, B, C]);
    }),
    60_000,
  );

  it(
    "leaves nothing behind: processes, namespaces, links, cgroups, pins, programs",
    logged(async () => {
      const lossyId = lossy?.progId ?? 0;
      await c.down();
      down = true;
      for (const pid of [...agentPids, c.control!.child.pid!]) {
        expect(() => process.kill(pid, 0), `pid ${pid}`).toThrow();
      }
      expect(running.size, "traffic processes").toBe(0);
      expect(listNetns().filter((n) => n.startsWith("ek8s-mon-"))).toEqual([]);
      expect(execFileSync("ip", ["-j", "link", "show"], { encoding: "utf8" })).not.toMatch(/"ek8s-mon/);
      expect(existsSync(cgroupPath("ek8s-mon"))).toBe(false);
      expect(existsSync(c.pinDir)).toBe(false);
      expect(existsSync(c.dir)).toBe(false);
      if (lossyId) {
        await until("the lossy program freed", async () => programExists(lossyId), (exists) => !exists, 30_000);
      }
    }),
    60_000,
  );
});
