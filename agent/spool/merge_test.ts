// SPDX-License-Identifier: Apache-2.0
/** Merging spooled batches: exact sums per record key, the newer cumulative values, what may not be merged. */
import { Batch, MAX_BATCH_BYTES, MAX_INTERVAL_S, WIRE_VERSION } from "../../control/wire/batch.ts";
import { MAX_FLOW_RECORDS } from "../../control/wire/monitoring.ts";
import { DNS_LATENCY_BUCKETS, DNS_QTYPES, DNS_RCODES } from "../../control/wire/dns.ts";
import type { FlowRecord, PodReport, TcpRecord } from "../../control/wire/monitoring.ts";
import { assert, assertEquals } from "../testing/assert.ts";
import { mergeBatches, mergeBlocker, mergeWithinLimits } from "./merge.ts";

const BOOT = "00000000-0000-4000-8000-00000000000a";
const OTHER_BOOT = "00000000-0000-4000-8000-00000000000b";

const iface = (ifname: string, ifindex: number, n: number) => ({
  ifname,
  ifindex,
  rxPackets: n,
  rxBytes: n * 100,
  txPackets: n,
  txBytes: n * 100,
  drops: 0,
});
const flow = (dst: string, packets: number, tcpFlags: number, obs: FlowRecord["obs"] = "tx"): FlowRecord => ({
  src: "10.1.0.2",
  dst,
  port: 80,
  proto: 6,
  toServer: true,
  obs,
  packets,
  bytes: packets * 60,
  tcpFlags,
});
const tcp = (pod: string | undefined, opened: number): TcpRecord => ({
  ...(pod ? { pod } : {}),
  local: "10.1.0.2",
  remote: "10.1.0.3",
  port: 80,
  role: "client",
  opened,
  failedRefused: 1,
  failedTimeout: 0,
  failedOther: 0,
  closed: opened,
  durationMs: 10 * opened,
  retransmits: 2,
  resetsRx: 0,
  resetsTx: 0,
  srttUsSum: 300 * opened,
  srttSamples: opened,
});
const pod = (uid: string, rx: number): PodReport => ({
  uid,
  namespace: "default",
  name: uid,
  labels: {},
  ips: ["10.1.0.2"],
  hostNetwork: false,
  rxPackets: rx,
  rxBytes: rx * 100,
  txPackets: 0,
  txBytes: 0,
  drops: 0,
});
const stats = (created: number) => ({
  flowEntries: created,
  flowTableSize: 1024,
  flowsCreated: created,
  flowsEvicted: 0,
  flowCreateFailed: 0,
  flowRecordsCut: 0,
  tcpRecordsCut: 0,
  dropRecordsCut: 0,
});
const inventory = (pending: number) => ({
  agentVersion: "test",
  kernel: "6.1",
  btf: true,
  bpfStats: false,
  features: {},
  modules: [],
  programs: [],
  maps: [],
  spool: { pending, dropped: 0, merged: 0 },
});

function base(seq: number): Batch {
  return {
    v: WIRE_VERSION,
    node: "n1",
    bootId: BOOT,
    seq,
    ts: 1_700_000_000_000 + seq * 1000,
    interval: 1,
    interfaces: [],
  };
}

const older: Batch = {
  ...base(3),
  interfaces: [iface("eth0", 2, 10), iface("veth-gone", 9, 4)],
  inventory: inventory(1),
  pods: [pod("gone", 4), pod("p1", 5)],
  monitoring: stats(3),
  flows: [flow("10.1.0.3", 5, 2), flow("10.1.0.4", 1, 2)],
  tcp: [tcp(undefined, 1), tcp("p1", 2)],
  drops: [{ pod: "p1", reason: "NO_SOCKET", packets: 1, bytes: 60 }, { reason: "NO_SOCKET", packets: 2, bytes: 120 }],
  lb: { version: 7, services: [[1, 5, 1], [2, 1, 0]], backends: [[10, 5]] },
  gateway: {
    version: 7,
    services: [[1, 1, 100, 1, 200]],
    flows: 1,
    evicted: 0,
    noBackend: 2,
    frontends: [[1, "203.0.113.7", 80, 1, 0, 0, 2, 0, 0], [1, "0.0.0.0", 30080, 3, 1, 0, 0, 0, 1]],
  },
  accel: { version: 7, rules: [[3, 1, 1000]] },
};
const newer: Batch = {
  ...base(5),
  interval: 2,
  interfaces: [iface("eth0", 2, 30), iface("veth-new", 11, 1)],
  inventory: inventory(2),
  pods: [pod("p1", 9), pod("p2", 1)],
  monitoring: stats(8),
  flows: [flow("10.1.0.3", 7, 16), flow("10.1.0.3", 3, 1, "rx")],
  tcp: [tcp("p1", 3)],
  drops: [{ pod: "p1", reason: "NO_SOCKET", packets: 4, bytes: 240 }],
  lb: { version: 7, services: [[2, 2, 3]], backends: [[10, 1], [11, 2]] },
  gateway: {
    version: 7,
    services: [[1, 2, 300, 2, 400], [4, 1, 1, 1, 1]],
    flows: 2,
    evicted: 1,
    noBackend: 0,
    frontends: [[1, "203.0.113.7", 80, 2, 1, 1, 0, 4, 2], [1, "203.0.113.8", 80, 1, 0, 0, 0, 0, 0]],
  },
  accel: { version: 7, rules: [[3, 2, 500]] },
};

Deno.test("merge: deltas summed exactly per record key; cumulative state from the newer batch; its seq and ts", () => {
  const m = mergeBatches(older, newer);
  assertEquals([m.node, m.bootId, m.seq, m.ts, m.interval], ["n1", BOOT, 5, newer.ts, 3]);
  // interfaces: the newer totals; one that vanished keeps its last totals
  assertEquals(m.interfaces, [iface("eth0", 2, 30), iface("veth-gone", 9, 4), iface("veth-new", 11, 1)]);
  // pods, inventory and table statistics: the newer batch's (pods are the pods present at its time)
  assertEquals([m.pods, m.inventory, m.monitoring], [newer.pods, newer.inventory, newer.monitoring]);
  assertEquals(m.flows, [
    { ...flow("10.1.0.3", 12, 18) }, // 5 + 7 packets, SYN | ACK
    flow("10.1.0.4", 1, 2),
    flow("10.1.0.3", 3, 1, "rx"), // another observation point is another key
  ]);
  assertEquals(m.tcp, [tcp(undefined, 1), { ...tcp("p1", 5), failedRefused: 2, retransmits: 4 }]);
  assertEquals(m.drops, [
    { pod: "p1", reason: "NO_SOCKET", packets: 5, bytes: 300 },
    { reason: "NO_SOCKET", packets: 2, bytes: 120 }, // no pod is a key of its own
  ]);
  assertEquals(m.lb, { version: 7, services: [[1, 5, 1], [2, 3, 3]], backends: [[10, 6], [11, 2]] });
  assertEquals(m.gateway, {
    version: 7,
    services: [[1, 3, 400, 3, 600], [4, 1, 1, 1, 1]],
    flows: 3,
    evicted: 1,
    noBackend: 2,
    // per frontend (service, address, port), summed
    frontends: [
      [1, "203.0.113.7", 80, 3, 1, 1, 2, 4, 2],
      [1, "0.0.0.0", 30080, 3, 1, 0, 0, 0, 1],
      [1, "203.0.113.8", 80, 1, 0, 0, 0, 0, 0],
    ],
  });
  assertEquals(m.accel, { version: 7, rules: [[3, 3, 1500]] });
  assert(Batch.safeParse(m).success, "a valid batch");
  // the inputs are left as they were
  assertEquals(older.flows![0].packets, 5);
  assertEquals(older.lb!.services[1], [2, 1, 0]);
});

Deno.test("merge: what only one batch has is kept; absent stays absent; the interval is capped by the wire's", () => {
  const a: Batch = { ...base(1), interval: MAX_INTERVAL_S, flows: [flow("10.1.0.3", 1, 2)], lb: older.lb };
  const b: Batch = { ...base(2), pods: [pod("p1", 1)], monitoring: stats(1), accel: newer.accel };
  const m = mergeBatches(a, b);
  assertEquals(m, { ...b, interval: MAX_INTERVAL_S, flows: a.flows, lb: a.lb });
  assertEquals(Object.keys(mergeBatches(base(1), base(2))).sort(), Object.keys(base(2)).sort());
  // the older batch's state when the newer has none
  assertEquals(mergeBatches(older, { ...base(9) }).pods, older.pods);
});

Deno.test("merge: never across boots, lb state versions, or out of order", () => {
  assert(mergeBlocker(older, { ...newer, bootId: OTHER_BOOT })?.includes("boots"));
  assert(mergeBlocker(older, { ...newer, lb: { ...newer.lb!, version: 8 } })?.includes("lb counters"));
  assert(mergeBlocker(older, { ...newer, accel: { ...newer.accel!, version: 6 } })?.includes("accel"));
  assert(mergeBlocker(newer, older)?.includes("not older"));
  assertEquals(mergeBlocker(older, { ...newer, lb: undefined }), null, "a module switched off in between");
  let threw = false;
  try {
    mergeBatches(older, { ...newer, bootId: OTHER_BOOT });
  } catch {
    threw = true;
  }
  assert(threw, "mergeBatches refuses too");
  assertEquals(mergeWithinLimits(older, { ...newer, gateway: { ...newer.gateway!, version: 1 } }), null);
});

Deno.test("merge: a result over a record cap or MAX_BATCH_BYTES is refused; at the cap it is accepted", () => {
  const flows = (from: number, n: number) =>
    Array.from({ length: n }, (_, i) => flow(`10.2.${(from + i) >> 8}.${(from + i) & 255}`, 1, 2));
  const half = MAX_FLOW_RECORDS / 2;
  const a = { ...base(1), flows: flows(0, half) };
  const fits = mergeWithinLimits(a, { ...base(2), flows: flows(half, half) });
  assertEquals((JSON.parse(fits!) as Batch).flows!.length, MAX_FLOW_RECORDS);
  assertEquals(mergeWithinLimits(a, { ...base(2), flows: flows(half, half + 1) }), null, "one over the cap");
  // the same keys again fit however often: the size is the number of distinct keys
  let m = a;
  for (let seq = 2; seq < 50; seq++) m = JSON.parse(mergeWithinLimits(m, { ...base(seq), flows: flows(0, half) })!);
  assertEquals([m.flows!.length, m.flows![0].packets, m.seq], [half, 49, 49]);
  // TCP records under their count cap, but too many bytes together
  const tcps = (from: number, n: number) =>
    Array.from({ length: n }, (_, i) => ({ ...tcp("p1", 1e9), remote: `10.3.${(from + i) >> 8}.${(from + i) & 255}` }));
  const t = { ...base(1), tcp: tcps(0, 2000) };
  assert(JSON.stringify(t).length < MAX_BATCH_BYTES / 2 + 100_000 && JSON.stringify(t).length > MAX_BATCH_BYTES / 2);
  assert(mergeWithinLimits(t, { ...base(2), tcp: tcps(0, 2000) }) !== null, "the same keys: fits");
  assertEquals(mergeWithinLimits(t, { ...base(2), tcp: tcps(2000, 2000) }), null, "4000 records: over 1 MiB");
  // a sum beyond what a JS number holds exactly is refused, not rounded
  const huge = { ...base(1), drops: [{ reason: "X", packets: Number.MAX_SAFE_INTEGER, bytes: 0 }] };
  assertEquals(mergeWithinLimits(huge, { ...base(2), drops: [{ reason: "X", packets: 1, bytes: 0 }] }), null);
});

Deno.test("merge: DNS records summed per (pod, server, port) and per (pod, name), their counter arrays by index", () => {
  const zeros = (n: number) => new Array<number>(n).fill(0);
  const server = (pod: string | undefined, q: number, bucket: number) => {
    const latency = zeros(DNS_LATENCY_BUCKETS);
    latency[bucket] = q;
    const queries = zeros(DNS_QTYPES.length), responses = zeros(DNS_RCODES.length);
    queries[1] = q;
    responses[0] = q;
    return {
      ...(pod ? { pod } : {}),
      server: "10.0.0.53",
      port: 53,
      queries,
      tcp: 1,
      responses,
      truncated: 0,
      timeouts: 2,
      latency,
      latencySumUs: 100 * q,
    };
  };
  const a: Batch = {
    ...base(1),
    dns: {
      servers: [server("u1", 3, 0), server(undefined, 1, 2)],
      names: [{ pod: "u1", name: "a.lab", queries: 3, nxdomain: 1 }],
    },
  };
  const b: Batch = {
    ...base(2),
    dns: {
      servers: [server("u1", 4, 5)],
      names: [{ pod: "u1", name: "a.lab", queries: 4, nxdomain: 0 }, { name: "b", queries: 1, nxdomain: 1 }],
    },
  };
  const m = mergeBatches(a, b).dns!;
  const u1 = server("u1", 7, 0);
  u1.latency[0] = 3;
  u1.latency[5] = 4;
  assertEquals(m.servers, [{ ...u1, tcp: 2, timeouts: 4 }, server(undefined, 1, 2)]);
  assertEquals(m.names, [{ pod: "u1", name: "a.lab", queries: 7, nxdomain: 1 }, {
    name: "b",
    queries: 1,
    nxdomain: 1,
  }]);
  assertEquals(a.dns!.servers[0].queries[1], 3, "the sources are left alone");
  // only one has dns: kept as it is
  assertEquals(mergeBatches(a, base(2)).dns, a.dns);
});
