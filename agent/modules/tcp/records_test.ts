// SPDX-License-Identifier: Apache-2.0
/** TcpRecords from the stats table's deltas, and the cap that sums what does not fit (pure: no kernel). */
import { OTHER_PEER, TCP_COUNTERS, type TcpRecord } from "../../../control/wire/monitoring.ts";
import type { PodDirectory } from "../../pods/directory.ts";
import { assertEquals, assertThrows } from "../../testing/assert.ts";
import { TCP_KEY_SIZE, TCP_ROLES, TCP_STATS_FIELDS } from "./layout.ts";
import { MIN_TCP_RECORDS, tcpRecords } from "./records.ts";

const NODE_NS = 1;
/** Pods by netns inode. */
const PODS: Record<number, string> = { 10: "uid-a", 11: "uid-b" };
const pods = { byNetns: (ino: number) => PODS[ino], byIp: () => undefined, learnNetns() {} } as unknown as PodDirectory;

/** A table delta: `opened` connections (and as many closed) and `retransmits` of one key. */
function delta(
  netns: number,
  laddr: string,
  raddr: string,
  port: number,
  role: (typeof TCP_ROLES)[number],
  opened: number,
  retransmits = 0,
): [Uint8Array, number[]] {
  const k = new Uint8Array(TCP_KEY_SIZE);
  const dv = new DataView(k.buffer);
  dv.setUint32(0, netns, true);
  for (const [ip, off] of [[laddr, 4], [raddr, 20]] as const) {
    k.set([0xff, 0xff], off + 10);
    k.set(ip.split(".").map(Number), off + 12);
  }
  dv.setUint16(36, port, true);
  k[38] = TCP_ROLES.indexOf(role);
  const v = TCP_STATS_FIELDS.map((f) =>
    f === "opened" || f === "closed" ? opened : f === "retransmits" ? retransmits : f === "duration_ns" ? 2e6 : 0
  );
  return [k, v];
}

const sums = (records: TcpRecord[], key: (r: TcpRecord) => string) => {
  const out: Record<string, number[]> = {};
  for (const r of records) {
    const t = out[key(r)] ??= TCP_COUNTERS.map(() => 0);
    TCP_COUNTERS.forEach((c, i) => t[i] += r[c]);
  }
  return out;
};
const byPod = (r: TcpRecord) => `${r.pod ?? r.local} ${r.role}`;

Deno.test("tcp: over the cap, the least important are summed per pod and role; failures and retransmits stay whole", () => {
  const deltas = [
    ...Array.from({ length: 20 }, (_, i) => delta(10, "10.0.0.1", `10.0.1.${i}`, 80, "client", i + 1)),
    ...Array.from({ length: 20 }, (_, i) => delta(11, "10.0.0.2", `10.0.2.${i}`, 9000 + i, "server", i + 1)),
    delta(NODE_NS, "192.0.2.10", "192.0.2.20", 22, "server", 1, 3), // the node's own socket, with retransmits
    delta(99, "10.9.9.9", "10.0.0.1", 80, "client", 5), // someone else's namespace: not ours
  ];
  const ctx = { nodeNetns: NODE_NS, pods };
  const all = tcpRecords(deltas, ctx, 100);
  assertEquals([all.records.length, all.keysSummed], [41, 0]);
  const { records, keysSummed } = tcpRecords(deltas, ctx, 10);
  assertEquals(records.length, 10);
  assertEquals(sums(records, byPod), sums(all.records, byPod), "per pod (or local address) and role: exact");
  assertEquals(records[0].retransmits, 3, "the retransmits first, whole");
  const others = records.filter((r) => r.remote === OTHER_PEER);
  assertEquals(others.map((r) => [r.pod, r.role, r.port]).sort(), [["uid-a", "client", 0], ["uid-b", "server", 0]]);
  // 10 records: 2 other and 8 whole (the node's + the 7 busiest); the other 33 keys summed
  assertEquals(keysSummed, 41 - 8);
  assertEquals(records.filter((r) => r.remote !== OTHER_PEER && r.pod).map((r) => r.opened).sort((a, b) => b - a), [
    20,
    20,
    19,
    19,
    18,
    18,
    17,
  ]);
});

Deno.test("tcp: summed into one node record when the pods' do not fit; the smallest cap is one record", () => {
  const deltas = Array.from({ length: 6 }, (_, i) => delta(10 + (i % 2), "10.0.0.1", `10.0.1.${i}`, 80, "client", 1));
  const ctx = { nodeNetns: NODE_NS, pods };
  const { records, keysSummed } = tcpRecords(deltas, ctx, MIN_TCP_RECORDS);
  assertEquals(records.map((r) => [r.pod, r.local, r.remote, r.port, r.role, r.opened, r.closed, r.durationMs]), [
    [undefined, OTHER_PEER, OTHER_PEER, 0, "unknown", 6, 6, 12],
  ]);
  assertEquals(keysSummed, 6);
  assertThrows(() => tcpRecords(deltas, ctx, 0), Error, "below");
});

Deno.test("tcp: a delta of a sub-millisecond duration alone makes no record of zeros; half a millisecond is one", () => {
  const durationOnly = (ns: number): [Uint8Array, number[]] => {
    const [k] = delta(10, "10.0.0.1", "10.0.1.1", 80, "client", 0);
    return [k, TCP_STATS_FIELDS.map((f) => (f === "duration_ns" ? ns : 0))];
  };
  const ctx = { nodeNetns: NODE_NS, pods };
  assertEquals(tcpRecords([durationOnly(400_000)], ctx, 10).records, []);
  assertEquals(tcpRecords([durationOnly(600_000)], ctx, 10).records.map((r) => r.durationMs), [1]);
});
