// SPDX-License-Identifier: Apache-2.0
/**
 * Drops that name a service (wire version 5) through the store: the raw
 * entry's trailing service, drop_service_stats beside drop_stats (rolled up,
 * capped and pruned with it), and queryDrops' rows per service with the rest
 * of each key's total as a row without one, at every level, also for rows an
 * older agent or an older replica wrote.
 */
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Db } from "../db/client.ts";
import { storeBatch } from "../ingest/store.ts";
import { drop, pod } from "../monitoring/fixtures.test-support.ts";
import { type Level, windowOn } from "../monitoring/rollup.ts";
import { queryDrops } from "../queries/monitoring/drops.ts";
import { batch, openTestDb, T0, type TestDb } from "../test-support.ts";
import type { Batch } from "../wire/batch.ts";
import { runMaintenance } from "./maintenance.ts";
import { DEFAULT_MONITORING_SETTINGS, type MonitoringSettings } from "./settings.ts";

const HOUR = 3_600_000;
/** A whole hour: batches below fall into known minutes and hours. */
const H = Math.floor(T0 / HOUR) * HOUR;
const DB_SVC = "svc:data/db";
const API_SVC = "svc:shop/api";

let t: TestDb;
let db: Db;
let seq = 0;
beforeEach(async () => {
  t = await openTestDb();
  db = t.db;
  seq = 0;
});
afterEach(() => t.close());

const WEB = { ...pod("u-web", "web", ["10.0.1.2"]), rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, drops: 0 };

function store(ts: number, extra: Partial<Batch>, settings: MonitoringSettings = DEFAULT_MONITORING_SETTINGS) {
  return storeBatch(db, batch({ node: "node-a", seq: ++seq, ts, interfaces: [], ...extra }), ts, settings);
}

async function rows(sql: string) {
  return (await db.$client.execute(sql)).rows.map((r) => ({ ...r }));
}

/** A drop row as queryDrops answers it, on node-a: `pod` a uid or none, `service` an endpointKey or none. */
function row(reason: string, packets: number, bytes: number, o: { pod?: "u-web"; service?: string } = {}) {
  const [namespace, name] = (o.service ?? "svc:/").slice(4).split("/");
  return {
    node: "node-a",
    ...(o.pod ? { pod: { kind: "pod", uid: "u-web", namespace: "default", name: "web", node: "node-a" } } : {}),
    ...(o.pod ? { ifname: "veth-web" } : {}),
    reason,
    ...(o.service ? { service: { kind: "service", namespace, name } } : {}),
    packets,
    bytes,
  };
}

/** The first two hours after H, on `level`. */
const over = (level: Level, filter: { service?: string } = {}) =>
  queryDrops(db, windowOn(level, H, H + 2 * HOUR, H + 2 * HOUR), filter);

/** drop_stats' total per key, and drop_service_stats' part per service, on a level. */
const stored = async (level: string) => ({
  totals: await rows(
    `SELECT pod, reason, sum(packets) AS packets, sum(bytes) AS bytes FROM drop_stats WHERE level = '${level}' ` +
      "GROUP BY pod, ifname, reason ORDER BY pod, reason",
  ),
  services: await rows(
    `SELECT pod, reason, service, sum(packets) AS packets, sum(bytes) AS bytes FROM drop_service_stats ` +
      `WHERE level = '${level}' GROUP BY pod, ifname, reason, service ORDER BY pod, reason, service`,
  ),
});

/**
 * Minute 0 and minute 1 of hour H: web's NETFILTER_DROP split over two services and none, the node's own
 * NO_SOCKET all of one service.
 */
async function scenario() {
  await store(H + 1_000, { pods: [WEB] });
  const web = { pod: "u-web", ifname: "veth-web" };
  await store(H + 10_000, {
    drops: [
      drop({ ...web, service: "data/db", packets: 3, bytes: 180 }),
      drop({ ...web, service: "data/db", packets: 1, bytes: 60 }), // the same key twice in a batch: summed
      drop({ ...web, service: "shop/api", packets: 2, bytes: 100 }),
      drop({ ...web, packets: 4, bytes: 240 }),
      drop({ reason: "NO_SOCKET", service: "data/db", packets: 5, bytes: 300 }),
    ],
  });
  await store(H + 70_000, { drops: [drop({ ...web, service: "shop/api", packets: 6, bytes: 600 })] });
}

const EXPECTED = [
  row("NETFILTER_DROP", 8, 700, { pod: "u-web", service: API_SVC }),
  row("NO_SOCKET", 5, 300, { service: DB_SVC }),
  row("NETFILTER_DROP", 4, 240, { pod: "u-web", service: DB_SVC }),
  row("NETFILTER_DROP", 4, 240, { pod: "u-web" }),
];

describe("drops per service in the store", () => {
  it('a raw drop entry carries the service last, "" for none', async () => {
    await scenario();
    const [first] = await rows("SELECT drops FROM monitoring_raw ORDER BY ts LIMIT 1");
    expect(JSON.parse(String(first!.drops))).toEqual([
      ["", "", "NO_SOCKET", 5, 300, DB_SVC],
      ["pod:u-web", "veth-web", "NETFILTER_DROP", 4, 240, ""],
      ["pod:u-web", "veth-web", "NETFILTER_DROP", 4, 240, DB_SVC],
      ["pod:u-web", "veth-web", "NETFILTER_DROP", 2, 100, API_SVC],
    ]);
    // The service decodes: its name is in the endpoints table like a flow's service.
    expect(await rows("SELECT key, kind, namespace, name FROM endpoints WHERE kind = 'service' ORDER BY key"))
      .toEqual([
        { key: DB_SVC, kind: "service", namespace: "data", name: "db" },
        { key: API_SVC, kind: "service", namespace: "shop", name: "api" },
      ]);
  });

  it("rows per service and the rest, the same on raw, 1m and 1h, before and after the rollup", async () => {
    await scenario();
    const byReason = [
      { reason: "NETFILTER_DROP", packets: 16, bytes: 1_180 },
      { reason: "NO_SOCKET", packets: 5, bytes: 300 },
    ];
    for (const level of ["raw", "1m", "1h"] as const) {
      expect(await over(level), level).toEqual({ drops: EXPECTED, byReason });
    }
    await runMaintenance(db, H + HOUR_PAST, DEFAULT_MONITORING_SETTINGS);
    expect(Number((await rows("SELECT count(*) AS n FROM monitoring_raw WHERE rolled != 3"))[0]!.n)).toBe(0);
    for (const level of ["1m", "1h"] as const) {
      expect(await over(level), level).toEqual({ drops: EXPECTED, byReason });
      // drop_stats is still the whole of each key; drop_service_stats holds only what named a service.
      expect(await stored(level), level).toEqual({
        totals: [
          { pod: "", reason: "NO_SOCKET", packets: 5, bytes: 300 },
          { pod: "pod:u-web", reason: "NETFILTER_DROP", packets: 16, bytes: 1_180 },
        ],
        services: [
          { pod: "", reason: "NO_SOCKET", service: DB_SVC, packets: 5, bytes: 300 },
          { pod: "pod:u-web", reason: "NETFILTER_DROP", service: DB_SVC, packets: 4, bytes: 240 },
          { pod: "pod:u-web", reason: "NETFILTER_DROP", service: API_SVC, packets: 8, bytes: 700 },
        ],
      });
    }
    // Per minute too: minute 1 holds api's 6 packets only.
    expect(await rows("SELECT bucket, service, packets FROM drop_service_stats WHERE level = '1m' AND bucket > " + H))
      .toEqual([{ bucket: H + 60_000, service: API_SVC, packets: 6 }]);
  });

  it("a service filter keeps that service's rows only", async () => {
    await scenario();
    await runMaintenance(db, H + 65_000, DEFAULT_MONITORING_SETTINGS); // minute 0 rolled, minute 1 still raw
    for (const level of ["raw", "1m", "1h"] as const) {
      expect((await over(level, { service: API_SVC })).drops, level).toEqual([EXPECTED[0]]);
      expect(await over(level, { service: DB_SVC }), level).toEqual({
        drops: [EXPECTED[1], EXPECTED[2]],
        byReason: [{ reason: "NO_SOCKET", packets: 5, bytes: 300 }, {
          reason: "NETFILTER_DROP",
          packets: 4,
          bytes: 240,
        }],
      });
      expect((await over(level, { service: "svc:shop/none" })).drops).toEqual([]);
    }
    expect((await queryDrops(db, windowOn("raw", H, H + HOUR), { service: DB_SVC, pod: ["pod:u-web"] })).drops)
      .toEqual([EXPECTED[2]]);
  });

  it("raw rows without the trailing service (an older agent or replica) read and roll up as no service", async () => {
    await scenario();
    // An older replica's raw row for the same key and minute: five positions.
    await db.$client.execute({
      sql:
        "INSERT INTO monitoring_raw_rows (node, boot_id, ts, flows, tcp, drops) VALUES ('node-a', 'b-old', ?, '[]', '[]', ?)",
      args: [H + 20_000, `[["pod:u-web","veth-web","NETFILTER_DROP",10,1000]]`],
    });
    const withOld = [
      row("NETFILTER_DROP", 14, 1_240, { pod: "u-web" }),
      EXPECTED[0],
      EXPECTED[1],
      EXPECTED[2],
    ];
    for (const level of ["raw", "1m"] as const) expect((await over(level)).drops, level).toEqual(withOld);
    await runMaintenance(db, H + HOUR_PAST, DEFAULT_MONITORING_SETTINGS);
    for (const level of ["1m", "1h"] as const) expect((await over(level)).drops, level).toEqual(withOld);
    expect((await stored("1m")).services.map((s) => s.packets)).toEqual([5, 4, 8]);
  });

  it("a minute an older replica rolled up (drop_stats only) shows its service parts as the rest", async () => {
    await scenario();
    // What a replica of before does with minute 0: adds it into drop_stats, marks it rolled, no service parts.
    await db.$client.execute(
      `INSERT INTO drop_stats VALUES ('1m', ${H}, 'node-a', 'pod:u-web', 'veth-web', 'NETFILTER_DROP', 10, 580), ` +
        `('1m', ${H}, 'node-a', '', '', 'NO_SOCKET', 5, 300)`,
    );
    await db.$client.execute(
      `UPDATE monitoring_raw_marks SET rolled = 1 WHERE id IN (SELECT id FROM monitoring_raw WHERE ts < ${H + 60_000})`,
    );
    expect((await over("1m")).drops).toEqual([
      row("NETFILTER_DROP", 10, 580, { pod: "u-web" }),
      row("NETFILTER_DROP", 6, 600, { pod: "u-web", service: API_SVC }),
      row("NO_SOCKET", 5, 300),
    ]);
  });

  it("caps: a key drop_stats cut into 'other' keeps no service part, and service parts the cap cuts count in the rest", async () => {
    await store(H + 1_000, { pods: [WEB] });
    const web = { pod: "u-web", ifname: "veth-web" };
    // Minute 0: three keys for a cap of two. The node's own NO_SOCKET is the lightest and goes into "other",
    // though its service part outweighs web's.
    await store(H + 10_000, {
      drops: [
        drop({ ...web, service: "data/db", packets: 1, bytes: 10 }),
        drop({ ...web, packets: 8, bytes: 80 }),
        drop({ ...web, reason: "TCP_CSUM", packets: 5, bytes: 50 }),
        drop({ reason: "NO_SOCKET", service: "data/db", packets: 2, bytes: 20 }),
      ],
    });
    // Minute 1: one key, three services for a cap of two: the lightest service's part stays in the rest.
    await store(H + 70_000, {
      drops: [
        drop({ ...web, service: "data/db", packets: 3, bytes: 30 }),
        drop({ ...web, service: "shop/api", packets: 2, bytes: 20 }),
        drop({ ...web, service: "shop/cart", packets: 1, bytes: 10 }),
      ],
    });
    const capped = { ...DEFAULT_MONITORING_SETTINGS, caps: { ...DEFAULT_MONITORING_SETTINGS.caps, drops: 2 } };
    await runMaintenance(db, H + HOUR_PAST, capped);
    // The 1 h bucket gathers both minutes and is cut alike.
    for (const level of ["1m", "1h"] as const) {
      expect(await stored(level), level).toEqual({
        totals: [
          { pod: "", reason: "(other)", packets: 2, bytes: 20 },
          { pod: "pod:u-web", reason: "NETFILTER_DROP", packets: 15, bytes: 150 },
          { pod: "pod:u-web", reason: "TCP_CSUM", packets: 5, bytes: 50 },
        ],
        services: [
          { pod: "pod:u-web", reason: "NETFILTER_DROP", service: DB_SVC, packets: 4, bytes: 40 },
          { pod: "pod:u-web", reason: "NETFILTER_DROP", service: API_SVC, packets: 2, bytes: 20 },
        ],
      });
      expect((await over(level)).drops, level).toEqual([
        row("NETFILTER_DROP", 9, 90, { pod: "u-web" }),
        row("TCP_CSUM", 5, 50, { pod: "u-web" }),
        row("NETFILTER_DROP", 4, 40, { pod: "u-web", service: DB_SVC }),
        row("(other)", 2, 20),
        row("NETFILTER_DROP", 2, 20, { pod: "u-web", service: API_SVC }),
      ]);
    }
  });

  it("drop_service_stats is pruned with drop_stats, bucket for bucket", async () => {
    await scenario();
    await runMaintenance(db, H + HOUR_PAST, DEFAULT_MONITORING_SETTINGS);
    const count = async (table: string, level: string) =>
      Number((await rows(`SELECT count(*) AS n FROM ${table} WHERE level = '${level}'`))[0]!.n);
    expect([await count("drop_service_stats", "1m"), await count("drop_service_stats", "1h")]).toEqual([4, 3]);
    const { retention } = DEFAULT_MONITORING_SETTINGS;
    // Past the minutes' retention: both tables' minutes go, the hours stay.
    await runMaintenance(db, H + 2 * 60_000 + retention["1m"], DEFAULT_MONITORING_SETTINGS);
    for (const table of ["drop_stats", "drop_service_stats"]) {
      expect([await count(table, "1m"), await count(table, "1h") > 0], table).toEqual([0, true]);
    }
    await runMaintenance(db, H + HOUR + retention["1h"], DEFAULT_MONITORING_SETTINGS);
    for (const table of ["drop_stats", "drop_service_stats"]) expect(await count(table, "1h"), table).toBe(0);
  });
});

/** Past the first ten minutes of hour H: the 1h level takes the scenario's batches too. */
const HOUR_PAST = 11 * 60_000;
