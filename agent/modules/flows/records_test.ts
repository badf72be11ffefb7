// SPDX-License-Identifier: Apache-2.0
import { type FlowRecord, isOtherPeer, OTHER_PEER, OTHER_POD_PEER } from "../../../control/wire/monitoring.ts";
import { assertEquals, assertThrows } from "../../testing/assert.ts";
import { FLOW_DIR_EGRESS as OUT, FLOW_DIR_INGRESS as IN, FLOW_FLAG_SYN_ONLY } from "./layout.ts";
import { type FlowDelta, FlowDeltas, flowRecords as fromDeltas, MIN_FLOW_RECORDS } from "./records.ts";

const flowRecords = (list: FlowDelta[], veths: Set<number>, cap: number, pods: string[] = []) =>
  fromDeltas(FlowDeltas.of(list), veths, cap, (ip) => pods.includes(ip));

const d = (
  saddr: string,
  sport: number,
  daddr: string,
  dport: number,
  dir: number,
  ifindex: number,
  packets: number,
  tcpFlags = 0x10,
): FlowDelta => ({ saddr, sport, daddr, dport, proto: 6, dir, ifindex, packets, bytes: packets * 100, tcpFlags });

Deno.test("client ports fold into the service port; observation point per veth direction", () => {
  const veths = new Set([4, 5]);
  const { records, keysSummed } = flowRecords(
    [
      // pod A (10.0.0.1, veth 4) connects twice to B (10.0.0.2, veth 5) port 8080 from two ephemeral ports
      d("10.0.0.1", 40001, "10.0.0.2", 8080, IN, 4, 3, 0x02 | FLOW_FLAG_SYN_ONLY | 0x10),
      d("10.0.0.1", 40002, "10.0.0.2", 8080, IN, 4, 2),
      d("10.0.0.2", 8080, "10.0.0.1", 40001, OUT, 4, 4),
      d("10.0.0.1", 40001, "10.0.0.2", 8080, OUT, 5, 3),
      // a host interface (ifindex 2) sees traffic from the world to port 443, no SYN seen: lower port serves
      d("192.0.2.9", 50000, "10.0.0.1", 443, IN, 2, 7),
    ],
    veths,
    100,
  );
  const brief = records.map((r) => `${r.src}>${r.dst}:${r.port} ${r.toServer ? "c2s" : "s2c"} ${r.obs} ${r.packets}`)
    .sort();
  assertEquals(brief, [
    "10.0.0.1>10.0.0.2:8080 c2s rx 3",
    "10.0.0.1>10.0.0.2:8080 c2s tx 5",
    "10.0.0.2>10.0.0.1:8080 s2c rx 4",
    "192.0.2.9>10.0.0.1:443 c2s host 7",
  ]);
  assertEquals(keysSummed, 0);
});

Deno.test("a SYN decides the server even when the client's port is lower", () => {
  const { records } = flowRecords(
    [
      d("10.0.0.1", 80, "10.0.0.2", 9000, IN, 4, 1, 0x02 | FLOW_FLAG_SYN_ONLY),
      d("10.0.0.2", 9000, "10.0.0.1", 80, OUT, 4, 1, 0x12),
    ],
    new Set([4]),
    10,
  );
  assertEquals(records.map((r) => [r.port, r.toServer]).sort(), [[9000, false], [9000, true]]);
});

/** Packets and bytes of the records, summed by `key` (records without a key left out). */
function totals(records: FlowRecord[], key: (r: FlowRecord) => string | undefined): Record<string, [number, number]> {
  const out: Record<string, [number, number]> = {};
  for (const r of records) {
    const k = key(r);
    if (k === undefined) continue;
    const t = out[k] ??= [0, 0];
    t[0] += r.packets;
    t[1] += r.bytes;
  }
  return out;
}
/** What a pod sent ("tx" records from it) and received ("rx" records to it), and the host's records. */
const perPod = (r: FlowRecord) => r.obs === "tx" ? `${r.src} sent` : r.obs === "rx" ? `${r.dst} received` : "host";
const isOther = (r: FlowRecord) => r.port === 0 && r.proto === 0 && (isOtherPeer(r.src) || isOtherPeer(r.dst));

Deno.test("the cap keeps the biggest records whole and sums the rest into the pod's other record", () => {
  const deltas = Array.from({ length: 10 }, (_, i) => d("10.0.0.1", 40000 + i, `10.0.1.${i}`, 80, IN, 4, i + 1));
  const { records, keysSummed } = flowRecords(deltas, new Set([4]), 3);
  // 2 whole, and 8 keys summed into one: 3 records
  assertEquals(records.map((r) => [r.src, r.dst, r.port, r.proto, r.toServer, r.obs, r.packets, r.bytes]), [
    ["10.0.0.1", OTHER_PEER, 0, 0, true, "tx", 36, 3600],
    ["10.0.0.1", "10.0.1.9", 80, 6, true, "tx", 10, 1000],
    ["10.0.0.1", "10.0.1.8", 80, 6, true, "tx", 9, 900],
  ]);
  assertEquals(keysSummed, 8);
});

Deno.test("summed per pod and direction: each pod's totals stay exact; senders that are pods of the node are marked", () => {
  const veths = new Set([4, 5]);
  const A = "10.0.0.1", B = "10.0.0.2", WORLD = "192.0.2.7";
  const deltas: FlowDelta[] = [];
  for (let i = 0; i < 40; i++) {
    // A sends to B (a pod of this node) from distinct source ports, below B's port: A counts as the server (s2c);
    // A's tx at veth 4, B's rx at veth 5; sizes differ so the order is fixed
    deltas.push(d(A, 20000 + i, B, 60000, IN, 4, 1 + i));
    deltas.push(d(A, 20000 + i, B, 60000, OUT, 5, 1 + i));
    // the world connects to B's port 8000 + i: only B's rx; B answers: B's tx
    deltas.push(d(WORLD, 30000, B, 8000 + i, OUT, 5, 100 + i));
    deltas.push(d(B, 8000 + i, WORLD, 30000, IN, 5, 50 + i));
  }
  // a host interface (ifindex 2): the world to the node, and the world to pod A (A's rx counts it)
  for (let i = 0; i < 5; i++) deltas.push(d(WORLD, 40000 + i, "10.0.9.1", 22, IN, 2, 1 + i));
  for (let i = 0; i < 5; i++) deltas.push(d(WORLD, 41000 + i, A, 8080, IN, 2, 1 + i));
  const all = flowRecords(deltas, veths, 10_000, [A, B]);
  assertEquals(all.keysSummed, 0);
  const { records, keysSummed } = flowRecords(deltas, veths, 30, [A, B]);
  assertEquals(records.length <= 30, true);
  assertEquals(totals(records, perPod), totals(all.records, perPod), "per pod and the host: exact");
  assertEquals(totals(records, () => "node"), totals(all.records, () => "node"));
  const whole = records.filter((r) => !isOther(r));
  assertEquals(keysSummed, all.records.length - whole.length, "every key not whole was summed");
  // the whole ones are the biggest
  const smallestWhole = Math.min(...whole.map((r) => r.bytes));
  const summedAway = all.records.filter((r) => !whole.some((w) => JSON.stringify(w) === JSON.stringify(r)));
  assertEquals(summedAway.every((r) => r.bytes <= smallestWhole), true);
  const others = records.filter(isOther).map((r) => `${r.obs} ${r.src}>${r.dst} ${r.toServer ? "c2s" : "s2c"}`).sort();
  assertEquals(others, [
    `host ${OTHER_PEER}>${OTHER_PEER} c2s`, // world to node: kept by the control plane
    `host ${OTHER_POD_PEER}>${OTHER_PEER} c2s`, // world to A: a pod is an end, A's veth counts it: set aside
    `rx ${OTHER_PEER}>${B} c2s`, // the world's packets into B
    `rx ${OTHER_POD_PEER}>${B} s2c`, // A's packets into B (A's tx counts them)
    `tx ${A}>${OTHER_PEER} s2c`,
    `tx ${B}>${OTHER_PEER} s2c`, // B's answers to the world
  ]);
});

Deno.test("when the pods' other records do not fit, they are summed per node; exact all the same", () => {
  // 30 pods, a flow each to 2 servers: 60 keys, 30 pod "other" keys > cap 12
  const deltas: FlowDelta[] = [];
  const pods = Array.from({ length: 30 }, (_, i) => `10.0.2.${i + 1}`);
  pods.forEach((ip, i) => {
    deltas.push(d(ip, 40000, "192.0.2.1", 443, IN, 10 + i, 1 + i));
    deltas.push(d(ip, 40001, "192.0.2.2", 443, IN, 10 + i, 1 + i));
  });
  const veths = new Set(pods.map((_, i) => 10 + i));
  const all = flowRecords(deltas, veths, 100, pods);
  const { records, keysSummed } = flowRecords(deltas, veths, 12, pods);
  assertEquals(records.length, 12);
  assertEquals(totals(records, () => "node"), totals(all.records, () => "node"));
  const others = records.filter(isOther);
  assertEquals(others.map((r) => [r.src, r.dst, r.obs, r.toServer]), [[OTHER_PEER, OTHER_PEER, "tx", true]]);
  assertEquals(keysSummed, 60 - 11);
});

Deno.test("the smallest cap holds the node's other records whatever the traffic; a smaller one is refused", () => {
  const veths = new Set([4]);
  const P = "10.0.0.1", Q = "10.0.0.2", W = "192.0.2.1";
  const deltas: FlowDelta[] = [];
  // every per-node key: tx both ways; rx from the world and from a pod, both ways; host with and without a pod
  for (let s = 80; s < 83; s++) { // three service ports: three keys of each kind
    deltas.push(d(P, 40000, W, s, IN, 4, 1), d(P, s, W, 40000, IN, 4, 1));
    deltas.push(d(W, 40000, P, s, OUT, 4, 1), d(W, s, P, 40000, OUT, 4, 1));
    deltas.push(d(Q, 40000, P, s, OUT, 4, 1), d(Q, s, P, 40000, OUT, 4, 1));
    deltas.push(d(W, 40000, "10.9.0.1", s, IN, 2, 1), d(W, s, "10.9.0.1", 40000, IN, 2, 1));
    deltas.push(d(W, 40000, Q, s, IN, 2, 1), d(W, s, Q, 40000, IN, 2, 1));
  }
  const { records, keysSummed } = flowRecords(deltas, veths, MIN_FLOW_RECORDS, [P, Q]);
  assertEquals(records.length, MIN_FLOW_RECORDS);
  assertEquals(records.every(isOther), true);
  assertEquals(keysSummed, 30);
  assertEquals(totals(records, () => "node"), { node: [30, 3000] });
  assertThrows(() => flowRecords(deltas, veths, MIN_FLOW_RECORDS - 1, [P, Q]), Error, "below");
});
