// SPDX-License-Identifier: Apache-2.0
/**
 * The control plane's cap on DNS keys per node and bucket (storeDns, caps dnsNames and dnsServers): the keys a
 * bucket already holds always add, new keys get the room left heaviest first (ties by key), the rest is summed
 * into the node's "other" row (the agent's own node-level "other" key), so every level's per-node totals stay
 * exact; the keys cut are counted in node_monitoring.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Db } from "../db/client.ts";
import { storeBatch } from "../ingest/store.ts";
import { DNS_SERVER_COUNTERS } from "../monitoring/dns-counters.ts";
import { nodeMonitoringOf } from "../queries/nodes.ts";
import { batch, openTestDb, T0, type TestDb } from "../test-support.ts";
import { DNS_OTHER_NAME, type DnsRecords } from "../wire/dns.ts";
import { dnsName, dnsServer } from "./dns.test-support.ts";
import { DEFAULT_MONITORING_SETTINGS } from "./settings.ts";

const HOUR = 3_600_000;
const H = Math.floor(T0 / HOUR) * HOUR;
const SETTINGS = {
  ...DEFAULT_MONITORING_SETTINGS,
  caps: { ...DEFAULT_MONITORING_SETTINGS.caps, dnsNames: 3, dnsServers: 2 },
};

let db: Db;
let close: TestDb["close"];
let seq = 0;
beforeEach(async () => {
  ({ db, close } = await openTestDb());
  seq = 0;
});
afterEach(() => close());

const store = (ts: number, dns: DnsRecords, node = "node-a", settings = SETTINGS) =>
  storeBatch(db, batch({ node, seq: ++seq, ts, interfaces: [], dns }), ts, settings);

const rows = async (sql: string, args: (string | number)[] = []) =>
  (await db.$client.execute({ sql, args })).rows.map((r) => ({ ...r }));

/** node-a's name rows of one level, "bucket pod name" → [queries, nxdomain]. */
async function names(level: string, node = "node-a") {
  const got = await rows(
    "SELECT bucket, pod, name, queries, nxdomain FROM dns_name_stats WHERE level = ? AND node = ? ORDER BY bucket, pod, name",
    [level, node],
  );
  return Object.fromEntries(
    got.map((r) => [`${Number(r.bucket) - H} ${String(r.pod)} ${String(r.name)}`, [r.queries, r.nxdomain]]),
  );
}

/** Per level and node: the sums of every counter of a table, as stored. */
async function totals(table: string, counters: readonly string[]) {
  const got = await rows(
    `SELECT level, node, ${counters.map((c) => `sum(${c}) AS ${c}`).join(", ")} FROM ${table} ` +
      "GROUP BY level, node ORDER BY level, node",
  );
  return got.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== 0)));
}

describe("DNS keys capped per node and bucket", () => {
  it("keeps the heaviest new names, adds to names the bucket has, sums the rest into the node's other name", async () => {
    // Minute 0: five names of a pod for a cap of 3, and the agent's own node "other" record.
    await store(H + 10_000, {
      servers: [],
      names: [
        dnsName("u-web", "d.test", 4, 4),
        dnsName("u-web", "a.test", 10),
        dnsName("u-web", "e.test", 2, 1),
        dnsName("u-web", "c.test", 6),
        dnsName("u-web", "b.test", 8, 2),
        dnsName(undefined, DNS_OTHER_NAME, 1, 1),
      ],
    });
    // Another node's names count against its own cap only.
    await store(H + 10_000, { servers: [], names: ["x", "y", "z"].map((n) => dnsName("u-db", n, 1)) }, "node-b");
    // Minute 1: a name heavier than any, one the hour bucket has, one more new.
    await store(H + 70_000, {
      servers: [],
      names: [dnsName("u-web", "e.test", 100, 100), dnsName("u-web", "a.test", 1), dnsName("u-web", "f.test", 50)],
    });

    const web = "pod:u-web";
    const sink = ` ${DNS_OTHER_NAME}`;
    const minute0 = {
      [`0 ${web} a.test`]: [10, 0],
      [`0 ${web} b.test`]: [8, 2],
      [`0 ${web} c.test`]: [6, 0],
      // d.test, e.test and the agent's record.
      [`0 ${sink}`]: [7, 6],
    };
    const minute1 = (at: number) => ({
      [`${at} ${web} a.test`]: [1, 0],
      [`${at} ${web} e.test`]: [100, 100],
      [`${at} ${web} f.test`]: [50, 0],
    });
    const raw = Object.fromEntries(
      [...Object.entries(minute0).map(([k, v]) => [k.replace(/^0 /, "10000 "), v]), ...Object.entries(minute1(70_000))],
    );
    expect(await names("raw")).toEqual(raw);
    expect(await names("1m")).toEqual({ ...minute0, ...minute1(60_000) });
    // The hour bucket holds a, b and c: a adds, e and f go to the node's other name.
    expect(await names("1h")).toEqual({
      [`0 ${web} a.test`]: [11, 0],
      [`0 ${web} b.test`]: [8, 2],
      [`0 ${web} c.test`]: [6, 0],
      [`0 ${sink}`]: [157, 106],
    });
    expect(Object.keys(await names("1h", "node-b"))).toEqual(["0 pod:u-db x", "0 pod:u-db y", "0 pod:u-db z"]);
    // Every level holds what was sent, per node.
    const sent = { queries: 10 + 8 + 6 + 4 + 2 + 1 + 100 + 1 + 50, nxdomain: 4 + 1 + 2 + 1 + 100 };
    expect(await totals("dns_name_stats", ["queries", "nxdomain"])).toEqual(
      ["1h", "1m", "raw"].flatMap((level) => [
        { level, node: "node-a", ...sent },
        { level, node: "node-b", queries: 3 },
      ]),
    );
    // Cut: two names at raw and 1m minute 0, two at 1h minute 0 and two more (e, f) at 1h minute 1.
    expect(await nodeMonitoringOf(db, "node-a")).toMatchObject({ dnsNameKeysCut: 8, dnsServerKeysCut: 0 });
    expect(await nodeMonitoringOf(db, "node-b")).toMatchObject({ dnsNameKeysCut: 0 });
  });

  it("keeps servers heaviest first, ties by key, and sums the rest into the node's other server", async () => {
    await store(H + 10_000, {
      servers: [
        dnsServer({ pod: "u-web", server: "10.96.0.12", queries: { A: 5 }, latency: { 2: 5 }, latencySumUs: 900 }),
        dnsServer({ pod: "u-web", server: "10.96.0.11", queries: { A: 5 } }),
        // Weighs its answers too: ranks first.
        dnsServer({ pod: "u-web", server: "10.96.0.10", queries: { A: 3 }, responses: { NXDOMAIN: 3 } }),
        dnsServer({ server: "0.0.0.0", port: 0, queries: { other: 1 }, timeouts: 1 }),
      ],
      names: [],
    });
    const stored = await rows(
      "SELECT level, pod, server, port, q_a, q_other, r_nxdomain, timeouts, lat_2, latency_sum_us " +
        "FROM dns_server_stats ORDER BY level, pod, server",
    );
    // 10.96.0.12 ties 10.96.0.11 and sorts after it: cut, with its latency.
    const sink = { q_a: 5, q_other: 1, r_nxdomain: 0, timeouts: 1, lat_2: 5, latency_sum_us: 900 };
    const none = { q_a: 0, q_other: 0, r_nxdomain: 0, timeouts: 0, lat_2: 0, latency_sum_us: 0 };
    expect(stored).toEqual(["1h", "1m", "raw"].flatMap((level) => [
      { level, pod: "", server: "0.0.0.0", port: 0, ...sink },
      { level, pod: "pod:u-web", server: "10.96.0.10", port: 53, ...none, q_a: 3, r_nxdomain: 3 },
      { level, pod: "pod:u-web", server: "10.96.0.11", port: 53, ...none, q_a: 5 },
    ]));
    const sent = await totals("dns_server_stats", DNS_SERVER_COUNTERS);
    expect(sent).toEqual(
      ["1h", "1m", "raw"].map((level) => ({
        level,
        node: "node-a",
        q_a: 13,
        q_other: 1,
        r_nxdomain: 3,
        timeouts: 1,
        lat_2: 5,
        latency_sum_us: 900,
      })),
    );
    expect(await nodeMonitoringOf(db, "node-a")).toMatchObject({ dnsNameKeysCut: 0, dnsServerKeysCut: 3 });
  });

  it("holds a bucket at cap + 1 rows through a thousand distinct names, totals exact", async () => {
    const batches = 100;
    const perBatch = 10;
    for (let b = 0; b < batches; b++) {
      const batchNames = [...Array(perBatch).keys()].map((i) => dnsName("u-web", `n${b * perBatch + i}.test`, 1, 1));
      // Within one minute (raw buckets are one batch each).
      await store(H + 1_000 + b * 100, { servers: [], names: batchNames });
    }
    const perBucket = await rows(
      "SELECT level, count(*) AS n, sum(queries) AS q, sum(nxdomain) AS nx FROM dns_name_stats " +
        "GROUP BY level, bucket ORDER BY level, bucket",
    );
    const cap = SETTINGS.caps.dnsNames;
    expect(perBucket.filter((r) => r.level !== "raw")).toEqual([
      { level: "1h", n: cap + 1, q: batches * perBatch, nx: batches * perBatch },
      { level: "1m", n: cap + 1, q: batches * perBatch, nx: batches * perBatch },
    ]);
    const raw = perBucket.filter((r) => r.level === "raw");
    expect(raw).toHaveLength(batches);
    for (const r of raw) expect(r).toEqual({ level: "raw", n: cap + 1, q: perBatch, nx: perBatch });
    // The thousandth name went into the node's other name at every level.
    expect(await rows("SELECT count(*) AS n FROM dns_name_stats WHERE name = 'n999.test'")).toEqual([{ n: 0 }]);
    const cut = batches * (perBatch - cap) + 2 * (batches * perBatch - cap);
    expect(await nodeMonitoringOf(db, "node-a")).toMatchObject({ dnsNameKeysCut: cut });
  });

  it("counts no room for the node's other name, the agent's or the cap's", async () => {
    await store(H + 10_000, {
      servers: [],
      names: [dnsName(undefined, DNS_OTHER_NAME, 2), dnsName("u-web", "a.test", 1)],
    });
    await store(H + 20_000, { servers: [], names: ["b", "c", "d"].map((n) => dnsName("u-web", `${n}.test`, 1)) });
    // a.test and two new names fill the cap of 3; d.test (ties by key, last) is summed with the agent's record.
    expect(await names("1m")).toEqual({
      "0 pod:u-web a.test": [1, 0],
      "0 pod:u-web b.test": [1, 0],
      "0 pod:u-web c.test": [1, 0],
      [`0  ${DNS_OTHER_NAME}`]: [3, 0],
    });
  });

  it("stores every key under the default caps", async () => {
    const many = [...Array(50).keys()].map((i) => dnsName("u-web", `n${i}.test`, 1));
    await store(H + 10_000, { servers: [], names: many }, "node-a", DEFAULT_MONITORING_SETTINGS);
    expect(await rows("SELECT level, count(*) AS n FROM dns_name_stats GROUP BY level ORDER BY level")).toEqual([
      { level: "1h", n: 50 },
      { level: "1m", n: 50 },
      { level: "raw", n: 50 },
    ]);
    expect(await nodeMonitoringOf(db, "node-a")).toMatchObject({ dnsNameKeysCut: 0 });
  });
});
