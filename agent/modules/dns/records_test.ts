import { assertEquals, assertThrows } from "../../testing/assert.ts";
import { COUNTER_AT, LATENCY_BUCKETS, QTYPE_SLOTS, RCODE_SLOTS, SERVER_COUNTERS } from "./layout.ts";
import { checkDnsSettings, DEFAULT_DNS } from "./reader.ts";
import { type DnsNameRecord, nameRecords, serverRecord } from "./records.ts";

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
