// SPDX-License-Identifier: Apache-2.0
import { assertEquals, assertThrows } from "../../testing/assert.ts";
import { COUNTER_AT, LATENCY_BUCKETS, QTYPE_SLOTS, RCODE_SLOTS, SERVER_COUNTERS } from "./layout.ts";
import { checkDnsSettings, DEFAULT_DNS } from "./reader.ts";
import { type DnsNameRecord, nameRecords, serverRecord, serverRecords } from "./records.ts";

const rec = (ifindex: number, name: string | null, queries: number, nxdomain = 0): DnsNameRecord => ({
  ifindex,
  name,
  queries,
  nxdomain,
});
const total = (rs: DnsNameRecord[]) => rs.reduce((a, r) => [a[0] + r.queries, a[1] + r.nxdomain], [0, 0]);

Deno.test("name records under the cap stay whole, the kernel's other entries included", () => {
  const names = [rec(3, "a.lab", 1), rec(3, "b.lab", 5, 2)];
  const { records, keysSummed } = nameRecords(names, [rec(3, null, 7)], 10);
  assertEquals(records, [rec(3, "b.lab", 5, 2), rec(3, "a.lab", 1), rec(3, null, 7)]);
  assertEquals(keysSummed, 0);
});

Deno.test("over the cap: the busiest names kept, the rest summed per pod with the kernel's other, totals exact", () => {
  const names = [
    ...Array.from({ length: 20 }, (_, i) => rec(3, `n${i}.lab`, i + 1, i % 2)),
    ...Array.from({ length: 20 }, (_, i) => rec(4, `m${i}.lab`, 100 + i)),
  ];
  const others = [rec(3, null, 1000, 10), rec(5, null, 3)];
  const { records, keysSummed } = nameRecords(names, others, 10);
  assertEquals(records.length, 10);
  assertEquals(total(records), total([...names, ...others]));
  // 7 whole (pod 4's busiest), an "other" for each of pods 3, 4 and 5
  assertEquals(records.filter((r) => r.name === null).map((r) => r.ifindex).sort(), [3, 4, 5]);
  assertEquals(records.filter((r) => r.name !== null).map((r) => r.name), [
    "m19.lab",
    "m18.lab",
    "m17.lab",
    "m16.lab",
    "m15.lab",
    "m14.lab",
    "m13.lab",
  ]);
  assertEquals(keysSummed, 40 - 7);
});

Deno.test("a cap below the pods' other records sums per node (ifindex 0)", () => {
  const names = Array.from({ length: 5 }, (_, i) => rec(10 + i, `x${i}.lab`, 1));
  const { records } = nameRecords(names, [], 2);
  assertEquals(total(records), [5, 0]);
  assertEquals(records.some((r) => r.ifindex === 0 && r.name === null), true);
});

Deno.test("a server record splits the kernel's counters by group", () => {
  const d = Array.from({ length: SERVER_COUNTERS }, (_, i) => i + 1);
  const r = serverRecord({ ifindex: 7, server: "10.0.0.1", port: 53 }, d);
  assertEquals(r.queries, d.slice(0, QTYPE_SLOTS.length));
  assertEquals(r.tcp, d[COUNTER_AT.queriesTcp]);
  assertEquals(r.responses, d.slice(COUNTER_AT.responses, COUNTER_AT.responses + RCODE_SLOTS.length));
  assertEquals(r.truncated, d[COUNTER_AT.truncated]);
  assertEquals(r.latency, d.slice(COUNTER_AT.latency, COUNTER_AT.latency + LATENCY_BUCKETS));
  assertEquals(r.latencySumUs, d[SERVER_COUNTERS - 1]);
  assertEquals(r.timeouts, 0);
});

Deno.test("settings: bad ports, sizes and timeouts are refused, naming the setting", () => {
  checkDnsSettings(DEFAULT_DNS);
  const bad: [Partial<typeof DEFAULT_DNS>, string][] = [
    [{ ports: [53] }, "port 53"],
    [{ ports: [0] }, "port 0"],
    [{ ports: [5353, 5353] }, "twice"],
    [{ ports: Array.from({ length: 9 }, (_, i) => 1000 + i) }, "at most 8"],
    [{ namesTableSize: 0 }, "namesTableSize"],
    [{ timeoutMs: 10 }, "timeoutMs"],
    [{ maxNameRecords: 0 }, "dns names"],
  ];
  for (const [s, msg] of bad) assertThrows(() => checkDnsSettings({ ...DEFAULT_DNS, ...s }), Error, msg);
});

Deno.test("server records over the cap: the busiest whole, the rest summed per pod, then per node; totals exact", () => {
  // 3 pods × 4 servers; pod i, server j: (i + 1) * (j + 1) A queries, one timeout, latency in bucket j
  const all = [1, 2, 3].flatMap((ifindex) =>
    [0, 1, 2, 3].map((j) => {
      const d = new Array(SERVER_COUNTERS).fill(0);
      d[COUNTER_AT.queries] = ifindex * (j + 1);
      d[COUNTER_AT.latency + j] = ifindex * (j + 1);
      d[COUNTER_AT.latencySumUs] = 10 * ifindex;
      return { ...serverRecord({ ifindex, server: `10.0.0.${j}`, port: 53 }, d), timeouts: 1 };
    })
  );
  const sums = (rs: ReturnType<typeof serverRecord>[]) => ({
    queries: rs.reduce((a, r) => a + r.queries[0], 0),
    latency: rs.reduce((a, r) => a.map((n, i) => n + r.latency[i]), new Array(LATENCY_BUCKETS).fill(0)),
    latencySumUs: rs.reduce((a, r) => a + r.latencySumUs, 0),
    timeouts: rs.reduce((a, r) => a + r.timeouts, 0),
  });
  assertEquals(serverRecords(all, 12), {
    records: [...all].sort((a, b) => b.queries[0] - a.queries[0]),
    keysSummed: 0,
  });
  const perPod = serverRecords(all, 8);
  assertEquals(perPod.records.length, 8);
  assertEquals(sums(perPod.records), sums(all));
  const others = perPod.records.filter((r) => r.server === "0.0.0.0");
  assertEquals(others.map((r) => [r.ifindex, r.port]).sort(), [[1, 0], [2, 0], [3, 0]]);
  assertEquals(perPod.keysSummed, 12 - (8 - others.length));
  const node = serverRecords(all, 1); // not even one per pod: one for the node
  assertEquals(node.records.map((r) => [r.ifindex, r.server, r.port]), [[0, "0.0.0.0", 0]]);
  assertEquals(sums(node.records), sums(all));
  assertEquals(node.keysSummed, 12);
  assertEquals(all[0].queries[0], 1, "the records given are left alone");
});
