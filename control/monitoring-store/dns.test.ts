// SPDX-License-Identifier: Apache-2.0
/**
 * DNS records (wire version 6) through the store: dns_server_stats and dns_name_stats at every level from
 * ingest, summed exactly (a key repeated in a batch, across batches, saturating at MAX_COUNT), read back by
 * queryDns over raw, 1m and 1h windows (and 1m windows with whole hours from 1h), and pruned per level.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MAX_COUNT } from "../db/counter-sums.ts";
import type { Db } from "../db/client.ts";
import { storeBatch } from "../ingest/store.ts";
import { DNS_SERVER_COUNTERS } from "../monitoring/dns-counters.ts";
import { type Level, LEVELS, windowOn, withHourParts } from "../monitoring/rollup.ts";
import { queryDns } from "../queries/monitoring/dns.ts";
import { batch, openTestDb, T0, type TestDb } from "../test-support.ts";
import type { DnsRecords } from "../wire/dns.ts";
import { dnsName, dnsServer } from "./dns.test-support.ts";
import { runMaintenance } from "./maintenance.ts";
import { DEFAULT_MONITORING_SETTINGS } from "./settings.ts";

const HOUR = 3_600_000;
const H = Math.floor(T0 / HOUR) * HOUR;

let t: TestDb;
let db: Db;
let seq = 0;
beforeEach(async () => {
  t = await openTestDb();
  db = t.db;
  seq = 0;
});
afterEach(() => t.close());

const store = (ts: number, dns: DnsRecords, node = "node-a") =>
  storeBatch(db, batch({ node, seq: ++seq, ts, interfaces: [], dns }), ts, DEFAULT_MONITORING_SETTINGS);

/** The counters of a server row by column name, only the non-zero ones. */
const named = (counts: number[]) =>
  Object.fromEntries(DNS_SERVER_COUNTERS.map((c, i) => [c, counts[i]!]).filter(([, n]) => n !== 0));

async function over(level: Level, from: number, to: number, filter = {}) {
  const w = level === "1m" ? withHourParts(windowOn(level, from, to, to), to + HOUR) : windowOn(level, from, to, to);
  const r = await queryDns(db, w, filter, 10);
  return {
    servers: r.servers.map((s) => ({ pod: s.pod, server: s.server, port: s.port, ...named(s.counts) })),
    names: Object.fromEntries([...r.topNames].map(([pod, l]) => [pod, l])),
  };
}

/** Minute 0 and minute 1 of hour H on node-a; minute 1 on node-b. */
async function scenario() {
  await store(H + 10_000, {
    servers: [
      dnsServer({
        pod: "u-web",
        queries: { A: 3, AAAA: 2 },
        responses: { NOERROR: 4, NXDOMAIN: 1 },
        tcp: 1,
        truncated: 1,
        latency: { 0: 2, 3: 2, 14: 1 },
        latencySumUs: 3_000_100,
      }),
      // The same key twice in a batch (an agent's spool merge could send it so): summed.
      dnsServer({ pod: "u-web", queries: { A: 1 }, timeouts: 1 }),
    ],
    names: [dnsName("u-web", "example.com", 4), dnsName("u-web", "nope.test", 2, 1)],
  });
  await store(H + 70_000, {
    servers: [
      dnsServer({ pod: "u-web", queries: { A: 1 }, responses: { NOERROR: 1 }, latency: { 5: 1 }, latencySumUs: 4_000 }),
      dnsServer({ pod: "u-web", server: "10.96.0.11", queries: { PTR: 7 }, responses: { SERVFAIL: 7 } }),
      dnsServer({ queries: { other: 5 } }),
    ],
    names: [dnsName("u-web", "example.com", 1), dnsName("u-web", "(other names)", 9, 3), dnsName(undefined, "x", 5)],
  });
  await store(H + 70_000, { servers: [dnsServer({ pod: "u-db", queries: { SRV: 2 } })], names: [] }, "node-b");
}

const WEB_53 = {
  pod: "pod:u-web",
  server: "10.96.0.10",
  port: 53,
  q_a: 5,
  q_aaaa: 2,
  tcp: 1,
  r_noerror: 5,
  r_nxdomain: 1,
  truncated: 1,
  timeouts: 1,
  lat_0: 2,
  lat_3: 2,
  lat_5: 1,
  lat_14: 1,
  latency_sum_us: 3_004_100,
};
const ALL_SERVERS = [
  { pod: "", server: "10.96.0.10", port: 53, q_other: 5 },
  { pod: "pod:u-db", server: "10.96.0.10", port: 53, q_srv: 2 },
  WEB_53,
  { pod: "pod:u-web", server: "10.96.0.11", port: 53, q_ptr: 7, r_servfail: 7 },
];
const WEB_NAMES = {
  byQueries: [
    { pod: "pod:u-web", name: "(other names)", queries: 9, nxdomain: 3 },
    { pod: "pod:u-web", name: "example.com", queries: 5, nxdomain: 0 },
    { pod: "pod:u-web", name: "nope.test", queries: 2, nxdomain: 1 },
  ],
  byNxdomain: [
    { pod: "pod:u-web", name: "(other names)", queries: 9, nxdomain: 3 },
    { pod: "pod:u-web", name: "nope.test", queries: 2, nxdomain: 1 },
  ],
};

describe("DNS in the monitoring store", () => {
  it("sums servers and names exactly at every level, over the window and its filters", async () => {
    await scenario();
    for (const level of ["raw", "1m", "1h"] as const) {
      const all = await over(level, H, H + HOUR);
      expect(all.servers, level).toEqual(ALL_SERVERS);
      expect(all.names["pod:u-web"], level).toEqual(WEB_NAMES);
      expect(all.names[""], level).toEqual({
        byQueries: [{ pod: "", name: "x", queries: 5, nxdomain: 0 }],
        byNxdomain: [],
      });
      const web = await over(level, H, H + HOUR, { node: "node-a", pod: ["pod:u-web"], server: "10.96.0.10" });
      expect(web.servers, level).toEqual([WEB_53]);
      expect(Object.keys(web.names), level).toEqual(["pod:u-web"]);
    }
    // Only minute 1 (raw: reports after H + 60 s): the second batches alone.
    for (const level of ["raw", "1m"] as const) {
      const late = await over(level, H + 60_000, H + 120_000, {
        node: "node-a",
        server: "10.96.0.10",
        pod: ["pod:u-web"],
      });
      expect(late.servers, level).toEqual([{
        pod: "pod:u-web",
        server: "10.96.0.10",
        port: 53,
        q_a: 1,
        r_noerror: 1,
        lat_5: 1,
        latency_sum_us: 4_000,
      }]);
    }
    // A 1m window of two whole hours reads the first from 1h: the same sums.
    expect((await over("1m", H, H + 2 * HOUR)).servers).toEqual(ALL_SERVERS);
  });

  it("stores a resent batch (its seq again, after a lost acknowledgement) once, at every level", async () => {
    await scenario();
    const before = await Promise.all(LEVELS.map((level) => over(level, H, H + HOUR)));
    // node-b's batch again, and node-a's second one sent after it (a seq before the node's last)
    const again = { servers: [dnsServer({ pod: "u-db", queries: { SRV: 2 } })], names: [dnsName("u-db", "y", 1)] };
    for (const [node, n] of [["node-b", 1], ["node-a", 2]] as const) {
      const ack = await storeBatch(db, batch({ node, seq: n, ts: H + 70_000, interfaces: [], dns: again }), H + 70_000);
      expect(ack.duplicate, node).toBe(true);
    }
    expect(await Promise.all(LEVELS.map((level) => over(level, H, H + HOUR)))).toEqual(before);
  });

  it("ranks at most `limit` names per pod, ties by name", async () => {
    await store(H + 10_000, {
      servers: [],
      names: ["d", "c", "b", "a"].map((n) => dnsName("u-web", n, 1)),
    });
    const r = await queryDns(db, windowOn("raw", H, H + HOUR), {}, 2);
    expect(r.topNames.get("pod:u-web")!.byQueries.map((n) => n.name)).toEqual(["a", "b"]);
  });

  it("saturates sums at MAX_COUNT in a batch, across batches and over a window", async () => {
    const big = dnsServer({ pod: "u-web", queries: { A: MAX_COUNT }, latencySumUs: MAX_COUNT });
    await store(H + 10_000, { servers: [big, big], names: [dnsName("u-web", "a", MAX_COUNT, 1)] });
    // As stored, not only as read (a query's sum saturates too): the batch's own sum already.
    const unsaturated = await db.$client.execute(
      `SELECT count(*) AS n FROM dns_server_stats WHERE q_a != ${MAX_COUNT}`,
    );
    expect(unsaturated.rows[0]!.n).toBe(0);
    await store(H + 20_000, { servers: [big], names: [dnsName("u-web", "a", MAX_COUNT, 1)] });
    for (const level of ["raw", "1m", "1h"] as const) {
      const r = await over(level, H, H + HOUR);
      expect(r.servers, level).toEqual([
        { pod: "pod:u-web", server: "10.96.0.10", port: 53, q_a: MAX_COUNT, latency_sum_us: MAX_COUNT },
      ]);
      expect(r.names["pod:u-web"]!.byQueries, level).toEqual([{
        pod: "pod:u-web",
        name: "a",
        queries: MAX_COUNT,
        nxdomain: 2,
      }]);
    }
  });

  it("prunes each level after its retention, the others staying", async () => {
    await scenario();
    const levels = async (table: string) =>
      (await db.$client.execute(`SELECT level, count(*) AS n FROM ${table} GROUP BY level ORDER BY level`)).rows
        .map((r) => `${String(r.level)}:${Number(r.n)}`);
    expect(await levels("dns_server_stats")).toEqual(["1h:4", "1m:5", "raw:5"]);
    expect(await levels("dns_name_stats")).toEqual(["1h:4", "1m:5", "raw:5"]);
    // Raw kept 2 h, 1m 48 h (DEFAULT_RETENTION): three hours on, the raw rows are gone, the rest stay exact.
    await runMaintenance(db, H + 3 * HOUR, DEFAULT_MONITORING_SETTINGS);
    expect(await levels("dns_server_stats")).toEqual(["1h:4", "1m:5"]);
    expect(await levels("dns_name_stats")).toEqual(["1h:4", "1m:5"]);
    expect((await over("1h", H, H + HOUR)).servers).toEqual(ALL_SERVERS);
    await runMaintenance(db, H + 50 * HOUR, DEFAULT_MONITORING_SETTINGS);
    expect(await levels("dns_server_stats")).toEqual(["1h:4"]);
  });
});
