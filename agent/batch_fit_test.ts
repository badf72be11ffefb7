// SPDX-License-Identifier: Apache-2.0
import { assert, assertEquals } from "./testing/assert.ts";
import { fitBatch } from "./batch_fit.ts";
import { Batch } from "../control/wire/batch.ts";
import {
  DNS_LATENCY_BUCKETS,
  DNS_OTHER_NAME,
  DNS_QTYPES,
  DNS_RCODES,
  type DnsNameRecord,
  type DnsServerRecord,
} from "../control/wire/dns.ts";

const flow = (i: number) => ({
  src: "10.244.1.11",
  dst: `10.244.2.${i % 250}`,
  port: i,
  proto: 6,
  toServer: true,
  obs: "tx" as const,
  packets: 1,
  bytes: 100,
  tcpFlags: 0,
});
const monitoring = {
  flowEntries: 0,
  flowTableSize: 0,
  flowsCreated: 0,
  flowsEvicted: 0,
  flowCreateFailed: 0,
  flowRecordsCut: 7,
  tcpRecordsCut: 0,
  dropRecordsCut: 0,
};

Deno.test("a batch over the byte limit loses its least important records, counted as cut", () => {
  const b = {
    v: 1,
    node: "n",
    bootId: crypto.randomUUID(),
    seq: 0,
    ts: 1,
    interval: 1,
    interfaces: [],
    flows: Array.from({ length: 1000 }, (_, i) => flow(i)),
    monitoring,
  } as Batch;
  const full = JSON.stringify(b).length;
  const { cut, bytes } = fitBatch(b, Math.floor(full / 2));
  assertEquals(bytes, JSON.stringify(b).length);
  assert(bytes <= full / 2);
  assertEquals(cut.flows, 1000 - b.flows!.length);
  assertEquals(b.monitoring!.flowRecordsCut, 7 + cut.flows);
  assertEquals(b.flows!.at(-1)!.port, b.flows!.length - 1, "cut from the end");
  assertEquals(fitBatch(b, full).cut, { flows: 0, tcp: 0, drops: 0, dnsServers: 0, dnsNames: 0 }, "fits: untouched");
});

const server = (i: number): DnsServerRecord => ({
  pod: `uid-${i % 50}`,
  server: `10.96.${i >> 8}.${i & 255}`,
  port: 53,
  queries: DNS_QTYPES.map((_, j) => i + j),
  tcp: i % 3,
  responses: DNS_RCODES.map((_, j) => i * j),
  truncated: 1,
  timeouts: i % 5,
  latency: Array.from({ length: DNS_LATENCY_BUCKETS }, (_, j) => j),
  latencySumUs: 1000 + i,
});
const name = (i: number): DnsNameRecord => ({
  pod: `uid-${i % 50}`,
  name: `${"x".repeat(200)}.name-${i}.example`,
  queries: i + 1,
  nxdomain: i % 2,
});

/** Every counter of a list summed (arrays by index): what the fit must keep exact. */
function totals(records: object[]): Record<string, number[] | number> {
  const out: Record<string, number[] | number> = {};
  for (const r of records) {
    for (const [k, v] of Object.entries(r)) {
      if (typeof v === "number" && k !== "port") out[k] = (out[k] as number ?? 0) + v;
      if (Array.isArray(v)) out[k] = v.map((n, j) => ((out[k] as number[] | undefined)?.[j] ?? 0) + n);
    }
  }
  return out;
}

Deno.test("DNS records over the byte limit are summed into the node's other records: totals stay exact", () => {
  const b = {
    v: 6,
    node: "n",
    bootId: crypto.randomUUID(),
    seq: 0,
    ts: 1,
    interval: 1,
    interfaces: [],
    dns: {
      servers: Array.from({ length: 2000 }, (_, i) => server(i)),
      // one node "other" name record already there (the caps made it): the fit adds into it, not a second one
      names: [...Array.from({ length: 2000 }, (_, i) => name(i)), { name: DNS_OTHER_NAME, queries: 7, nxdomain: 3 }],
    },
    monitoring: { ...monitoring, dnsNamesSummed: 4 },
  } as Batch;
  const before = { servers: totals(b.dns!.servers), names: totals(b.dns!.names) };
  const full = JSON.stringify(b).length;
  assert(full > 600_000, `the batch is ${full} bytes`);
  const { cut, bytes } = fitBatch(b, 500_000);
  assert(bytes <= 500_000);
  assertEquals(bytes, JSON.stringify(b).length);
  assert(cut.dnsNames > 0 && cut.dnsServers > 0, JSON.stringify(cut));
  assertEquals({ flows: cut.flows, tcp: cut.tcp, drops: cut.drops }, { flows: 0, tcp: 0, drops: 0 });
  assertEquals(totals(b.dns!.servers), before.servers, "server counters exact");
  assertEquals(totals(b.dns!.names), before.names, "name counters exact");
  const names = b.dns!.names;
  const others = names.filter((r) => r.name === DNS_OTHER_NAME && r.pod === undefined);
  assertEquals(others.length, 1, "one node 'other' name record");
  assertEquals(names.at(-1), others[0], "kept last");
  assertEquals(names.length, 2001 - cut.dnsNames);
  assertEquals(names.at(-2)!.name, name(names.length - 2).name, "summed from the end");
  const otherServers = b.dns!.servers.filter((r) => r.server === "0.0.0.0" && r.port === 0 && r.pod === undefined);
  assertEquals(otherServers.length, 1);
  assertEquals(b.dns!.servers.length, 2000 - cut.dnsServers + 1);
  assertEquals(b.monitoring!.dnsNamesSummed, 4 + cut.dnsNames);
  assertEquals(b.monitoring!.dnsServersSummed, cut.dnsServers);
  assertEquals(Batch.safeParse(b).success, true, "still a valid batch");
});
