// SPDX-License-Identifier: Apache-2.0
/** DropRecords from the drops table's deltas, and the cap that sums what does not fit (pure: no kernel). */
import { type DropRecord, OTHER_DROP_REASON } from "../../../control/wire/monitoring.ts";
import { assertEquals } from "../../testing/assert.ts";
import { DROP_KEY_SIZE } from "./layout.ts";
import { dropRecords, MIN_DROP_RECORDS } from "./records.ts";

const NODE_NS = 1;
const ctx = {
  nodeNetns: NODE_NS,
  pods: { byNetns: (ino: number) => (ino >= 10 ? `uid-${ino}` : undefined), byVeth: () => undefined },
  ifnames: new Map([[2, "eth0"], [3, "eth1"]]),
  reasons: new Map(Array.from({ length: 20 }, (_, i) => [i + 2, `REASON_${i + 2}`])),
  services: new Map([[7, "shop/web"], [8, "shop/db"]]),
};

function delta(netns: number, ifindex: number, reason: number, packets: number, service = 0): [Uint8Array, number[]] {
  const k = new Uint8Array(DROP_KEY_SIZE);
  const dv = new DataView(k.buffer);
  dv.setUint32(0, netns, true);
  dv.setUint32(4, ifindex, true);
  dv.setUint32(8, reason, true);
  dv.setUint32(12, service, true);
  return [k, [packets, packets * 60]];
}

const sums = (records: DropRecord[], key: (r: DropRecord) => string) => {
  const out: Record<string, [number, number]> = {};
  for (const r of records) {
    const t = out[key(r)] ??= [0, 0];
    t[0] += r.packets;
    t[1] += r.bytes;
  }
  return out;
};
const owner = (r: DropRecord) => r.pod ?? r.ifname ?? "node";

Deno.test("drops: over the cap, the fewest packets are summed per pod (or interface) under the reason (other)", () => {
  const deltas = [
    ...Array.from({ length: 10 }, (_, i) => delta(10, 0, 2 + i, 100 + i)), // pod 10: 10 reasons
    ...Array.from({ length: 10 }, (_, i) => delta(11, 0, 2 + i, 1 + i)), // pod 11
    ...Array.from({ length: 5 }, (_, i) => delta(NODE_NS, 2, 2 + i, 50 + i)), // the node's eth0
    ...Array.from({ length: 5 }, (_, i) => delta(NODE_NS, 3, 2 + i, 1 + i)), // the node's eth1
  ];
  const all = dropRecords(deltas, ctx, 100);
  assertEquals([all.records.length, all.keysSummed], [30, 0]);
  const { records, keysSummed, podDrops } = dropRecords(deltas, ctx, 14);
  assertEquals(records.length, 14);
  assertEquals(sums(records, owner), sums(all.records, owner), "per pod and interface: exact");
  assertEquals(podDrops, all.podDrops);
  const others = records.filter((r) => r.reason === OTHER_DROP_REASON).map(owner).sort();
  // 11 whole (pod 10's 10, eth0's biggest) and 3 "other": as many whole as the others leave room for
  assertEquals(others, ["eth0", "eth1", "uid-11"]);
  assertEquals(keysSummed, 30 - 11);
  assertEquals(records.filter((r) => r.reason !== OTHER_DROP_REASON).map((r) => r.packets), [
    109,
    108,
    107,
    106,
    105,
    104,
    103,
    102,
    101,
    100,
    54,
  ]);
});

Deno.test("drops: one node record at the smallest cap", () => {
  const deltas = [delta(10, 0, 2, 5), delta(11, 0, 3, 7), delta(NODE_NS, 2, 2, 1)];
  const { records, keysSummed } = dropRecords(deltas, ctx, MIN_DROP_RECORDS);
  assertEquals(records, [{ reason: OTHER_DROP_REASON, packets: 13, bytes: 13 * 60 }]);
  assertEquals(keysSummed, 3);
});

Deno.test("drops: a record per service of a pod and reason; an id no service has names none; the cap sums services away", () => {
  const deltas = [
    delta(10, 0, 2, 5, 7),
    delta(10, 0, 2, 4, 8),
    delta(10, 0, 2, 3), // no service
    delta(10, 0, 2, 2, 99), // an id not (or no longer) known: counted, unnamed
    delta(NODE_NS, 2, 3, 6, 7), // the node's own drop of a packet to shop/web
  ];
  const { records, podDrops } = dropRecords(deltas, ctx, 100);
  assertEquals(records, [
    { ifname: "eth0", reason: "REASON_3", packets: 6, bytes: 360, service: "shop/web" },
    { pod: "uid-10", reason: "REASON_2", packets: 5, bytes: 300, service: "shop/web" },
    { pod: "uid-10", reason: "REASON_2", packets: 5, bytes: 300 },
    { pod: "uid-10", reason: "REASON_2", packets: 4, bytes: 240, service: "shop/db" },
  ]);
  assertEquals(podDrops, new Map([["uid-10", 14]]));
  const capped = dropRecords(deltas, ctx, 2).records;
  assertEquals(capped.map((r) => [r.pod ?? r.ifname, r.reason, r.packets, r.service ?? null]), [
    ["uid-10", OTHER_DROP_REASON, 14, null],
    ["eth0", "REASON_3", 6, "shop/web"],
  ]);
});
