// SPDX-License-Identifier: Apache-2.0
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { createClient } from "@libsql/client";
import { drizzle } from "drizzle-orm/libsql";
import { migrate } from "drizzle-orm/libsql/migrator";
import { afterEach, describe, expect, it } from "vitest";
import { storeDns } from "../monitoring-store/dns.ts";
import { dnsServer } from "../monitoring-store/dns.test-support.ts";
import { runMaintenance } from "../monitoring-store/maintenance.ts";
import { DEFAULT_MONITORING_SETTINGS } from "../monitoring-store/settings.ts";
import { localFilePath, openDb } from "./client.ts";
import { rawWriteTransaction } from "./write-queue.ts";
import { nodes } from "./schema.ts";

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

describe("openDb", () => {
  it("creates the file's directory, applies migrations once, and keeps data across opens", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ebpf-k8s-db-"));
    dirs.push(dir);
    const url = `file:${join(dir, "nested", "control.db")}`;

    const first = await openDb(url);
    expect(existsSync(join(dir, "nested", "control.db"))).toBe(true);
    await first.insert(nodes).values({ name: "n1", bootId: "b", lastSeq: 0, lastTs: 1, firstSeen: 1, lastSeen: 1 });
    first.$client.close();

    const second = await openDb(url);
    expect(await second.select({ name: nodes.name }).from(nodes)).toEqual([{ name: "n1" }]);
    const applied = await second.$client.execute("SELECT count(*) AS n FROM __drizzle_migrations");
    const journal = JSON.parse(readFileSync(new URL("./migrations/meta/_journal.json", import.meta.url), "utf8")) as {
      entries: unknown[];
    };
    expect(applied.rows[0]!.n).toBe(journal.entries.length);
    const mode = await second.$client.execute("PRAGMA journal_mode");
    expect(mode.rows[0]!.journal_mode).toBe("wal");
    second.$client.close();
  });

  it("lets replicas opening a new database at once all start, with each migration applied once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ebpf-k8s-db-"));
    dirs.push(dir);
    const url = `file:${join(dir, "control.db")}`;
    // Four handles interleave at every await as four processes would: each reads what is applied before any applies.
    const opened = await Promise.allSettled(Array.from({ length: 4 }, () => openDb(url)));
    expect(opened.map((o) => o.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "fulfilled"]);
    const dbs = opened.map((o) => (o as PromiseFulfilledResult<Awaited<ReturnType<typeof openDb>>>).value);
    const applied = await dbs[0]!.$client.execute(
      "SELECT count(*) AS n, count(DISTINCT hash) AS d FROM __drizzle_migrations",
    );
    const journal = JSON.parse(readFileSync(new URL("./migrations/meta/_journal.json", import.meta.url), "utf8")) as {
      entries: unknown[];
    };
    expect(applied.rows[0]).toMatchObject({ n: journal.entries.length, d: journal.entries.length });
    for (const db of dbs) db.$client.close();
  });

  it("works in memory", async () => {
    const db = await openDb(":memory:");
    expect(await db.select().from(nodes)).toEqual([]);
    db.$client.close();
  });
});

/** A database file with only the first `applied` migrations applied, as an older control plane left it. */
async function olderDb(applied: number) {
  const dir = mkdtempSync(join(tmpdir(), "ebpf-k8s-migrate-"));
  dirs.push(dir);
  const folder = join(dir, "migrations");
  const source = fileURLToPath(new URL("./migrations", import.meta.url));
  cpSync(source, folder, { recursive: true });
  const journalPath = join(folder, "meta", "_journal.json");
  const journal = JSON.parse(readFileSync(journalPath, "utf8"));
  writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, applied) }));

  const url = `file:${join(dir, "old.db")}`;
  const client = createClient({ url });
  await migrate(drizzle(client), { migrationsFolder: folder });
  return { url, client };
}

describe("migrations", () => {
  it("0002 keeps the history recorded one row per interface, as one row per batch", async () => {
    // A database as the walking skeleton left it: migrations up to 0001 applied, samples stored per interface.
    const { url, client } = await olderDb(2);
    const sample = (ifname: string, ts: number, rxBytes: number) =>
      client.execute({
        sql:
          "INSERT INTO interface_samples (node, ifname, boot_id, ifindex, ts, rx_packets, rx_bytes, tx_packets, tx_bytes, drops, rx_bytes_per_sec) VALUES ('n1', ?, 'b1', 2, ?, 1, ?, 3, 4, 5, ?)",
        args: [ifname, ts, rxBytes, ts === 1 ? null : 0.5],
      });
    await sample("eth0", 1, 100);
    await sample("veth1", 1, 200);
    await sample("eth0", 2, 300);
    client.close();

    const db = await openDb(url);
    const history = await db.$client.execute(
      "SELECT node, boot_id, ts, json_array_length(interfaces) AS n FROM interface_history ORDER BY id",
    );
    expect(history.rows.map((r) => ({ ...r }))).toEqual([
      { node: "n1", boot_id: "b1", ts: 1, n: 2 },
      { node: "n1", boot_id: "b1", ts: 2, n: 1 },
    ]);
    const samples = await db.$client.execute(
      "SELECT ifname, ts, rx_bytes, rx_bytes_per_sec, drops FROM interface_samples ORDER BY ts, ifname",
    );
    expect(samples.rows.map((r) => ({ ...r }))).toEqual([
      { ifname: "eth0", ts: 1, rx_bytes: 100, rx_bytes_per_sec: null, drops: 5 },
      { ifname: "veth1", ts: 1, rx_bytes: 200, rx_bytes_per_sec: null, drops: 5 },
      { ifname: "eth0", ts: 2, rx_bytes: 300, rx_bytes_per_sec: 0.5, drops: 5 },
    ]);
    db.$client.close();
  });

  it("0009 moves the raw rows' rolled marks beside them, each row's as it was, and keeps them in step", async () => {
    // Raw rows in every state a rollup leaves them: in no level, in 1m, in 1h, in both.
    const { url, client } = await olderDb(9);
    for (const [ts, rolled] of [[10, 0], [20, 1], [30, 2], [40, 3]] as const) {
      await client.execute({
        sql:
          "INSERT INTO monitoring_raw (node, boot_id, ts, flows, tcp, drops, rolled) VALUES ('n1', 'b1', ?, ?, '[]', '[]', ?)",
        args: [ts, `[["pod:u1","ip:1.1.1.1",443,6,${ts},1,0,0,2]]`, rolled],
      });
    }
    client.close();

    const db = await openDb(url);
    const read = async (sql: string) => (await db.$client.execute(sql)).rows.map((r) => ({ ...r }));
    const raw =
      "SELECT id, node, boot_id, ts, flows ->> '$[0][4]' AS packets, tcp, drops, rolled FROM monitoring_raw ORDER BY id";
    const row = (id: number, ts: number, rolled: number) => ({
      id,
      node: "n1",
      boot_id: "b1",
      ts,
      packets: ts,
      tcp: "[]",
      drops: "[]",
      rolled,
    });
    expect(await read(raw)).toEqual([row(1, 10, 0), row(2, 20, 1), row(3, 30, 2), row(4, 40, 3)]);
    expect(await read("SELECT id, rolled FROM monitoring_raw_marks ORDER BY id")).toEqual(
      [1, 2, 3, 4].map((id, i) => ({ id, rolled: [0, 1, 2, 3][i] })),
    );

    // The rollup adds each row into the levels it was not in yet, and only those.
    const r = await runMaintenance(db, 20 * 60_000, DEFAULT_MONITORING_SETTINGS);
    expect(r).toMatchObject({ rolledBatches: 2, deletedRaw: 0 });
    expect(await read("SELECT level, sum(fwd_packets) AS packets FROM flow_stats GROUP BY level ORDER BY level"))
      .toEqual([
        { level: "1h", packets: 10 + 20 },
        { level: "1m", packets: 10 + 30 },
      ]);
    expect(await read("SELECT count(*) AS n FROM monitoring_raw WHERE rolled != 3")).toEqual([{ n: 0 }]);

    // A row stored from now on gets its mark (in no level); a row deleted takes its mark along.
    await db.$client.execute(
      "INSERT INTO monitoring_raw_rows (node, boot_id, ts, flows, tcp, drops) VALUES ('n1', 'b1', 50, '[]', '[]', '[]')",
    );
    await db.$client.execute("DELETE FROM monitoring_raw_rows WHERE id = 4");
    expect(await read("SELECT id, ts, rolled FROM monitoring_raw ORDER BY id")).toEqual([
      { id: 1, ts: 10, rolled: 3 },
      { id: 2, ts: 20, rolled: 3 },
      { id: 3, ts: 30, rolled: 3 },
      { id: 5, ts: 50, rolled: 0 },
    ]);
    expect(await read("SELECT count(*) AS n FROM monitoring_raw_marks")).toEqual([{ n: 4 }]);

    // Retention removes the rows once in both levels, and their marks with them.
    const retention = { ...DEFAULT_MONITORING_SETTINGS.retention, raw: 60_000 };
    expect(await runMaintenance(db, 20 * 60_000, { ...DEFAULT_MONITORING_SETTINGS, retention })).toMatchObject({
      rolledBatches: 1,
      deletedRaw: 4,
    });
    expect(
      await read(
        "SELECT (SELECT count(*) FROM monitoring_raw_rows) AS rows, (SELECT count(*) FROM monitoring_raw_marks) AS marks",
      ),
    ).toEqual([{ rows: 0, marks: 0 }]);
    db.$client.close();
  });
});

describe("migration 0015", () => {
  it("adds the service after the counters: rows stored before read as no service, raw and rolled, and nothing is rewritten", async () => {
    const { url, client } = await olderDb(15);
    // A raw row as a control plane of before wrote it (and as one still writes during a rolling upgrade).
    await client.execute({
      sql: "INSERT INTO monitoring_raw_rows (node, boot_id, ts, flows, tcp, drops) VALUES ('n1', 'b1', ?, ?, ?, '[]')",
      args: [
        90_000,
        `[["pod:u1","ip:1.1.1.1",443,6,5,500,4,400,18]]`,
        `[["pod:u1","ip:1.1.1.1",443,"client",2,1,0,0,1,30,0,0,1,300,2]]`,
      ],
    });
    await client.execute(
      "INSERT INTO flow_stats VALUES ('1m', 0, 'n1', 'pod:u1', 'ip:1.1.1.1', 443, 6, 5, 500, 4, 400, 18)",
    );
    client.close();

    const db = await openDb(url);
    const read = async (sql: string) => (await db.$client.execute(sql)).rows.map((r) => ({ ...r }));
    expect(await read("SELECT flows FROM monitoring_raw_rows")).toEqual([
      { flows: `[["pod:u1","ip:1.1.1.1",443,6,5,500,4,400,18]]` },
    ]);
    expect(await read("SELECT service, fwd_bytes FROM flow_stats")).toEqual([{ service: "", fwd_bytes: 500 }]);
    // A raw row of now, with its service last, for the same key in the same minute.
    await db.$client.execute({
      sql:
        "INSERT INTO monitoring_raw_rows (node, boot_id, ts, flows, tcp, drops) VALUES ('n1', 'b1', ?, ?, '[]', '[]')",
      args: [100_000, `[["pod:u1","ip:1.1.1.1",443,6,1,100,0,0,2,"svc:shop/web"]]`],
    });

    // A replica of before (a rolling upgrade) stores the same key later in that minute, with no service.
    const oldReplica = (ts: number) =>
      db.$client.execute({
        sql:
          "INSERT INTO monitoring_raw_rows (node, boot_id, ts, flows, tcp, drops) VALUES ('n1', 'b1', ?, ?, '[]', '[]')",
        args: [ts, `[["pod:u1","ip:1.1.1.1",443,6,2,200,0,0,2]]`],
      });
    await oldReplica(105_000);

    // The rollup reads both layouts: the old row's missing service is "", a named service is kept over none.
    await runMaintenance(db, 3 * 3_600_000, DEFAULT_MONITORING_SETTINGS);
    expect(
      await read("SELECT level, bucket, service, fwd_packets, fwd_bytes FROM flow_stats ORDER BY level, bucket"),
    ).toEqual([
      { level: "1h", bucket: 0, service: "svc:shop/web", fwd_packets: 8, fwd_bytes: 800 },
      { level: "1m", bucket: 0, service: "", fwd_packets: 5, fwd_bytes: 500 },
      { level: "1m", bucket: 60_000, service: "svc:shop/web", fwd_packets: 8, fwd_bytes: 800 },
    ]);
    // And one that arrives after the minute was rolled up: added in, the service kept (the upsert's fill).
    await oldReplica(110_000);
    await runMaintenance(db, 3 * 3_600_000 + 60_000, DEFAULT_MONITORING_SETTINGS);
    expect(await read("SELECT service, fwd_packets FROM flow_stats WHERE level = '1m' AND bucket = 60000")).toEqual([
      { service: "svc:shop/web", fwd_packets: 10 },
    ]);
    expect(await read("SELECT service, opened, srtt_samples FROM tcp_stats WHERE level = '1m'")).toEqual([
      { service: "", opened: 2, srtt_samples: 2 },
    ]);
    db.$client.close();
  });
});

describe("migration 0016", () => {
  it("adds drop_service_stats only: drop rows stored before keep their totals, raw and rolled, and roll up as no service", async () => {
    const { url, client } = await olderDb(16);
    // A raw row as a control plane of before wrote it (five positions), one minute it rolled, one still raw.
    await client.execute({
      sql:
        "INSERT INTO monitoring_raw_rows (node, boot_id, ts, flows, tcp, drops) VALUES ('n1', 'b1', ?, '[]', '[]', ?)",
      args: [70_000, `[["pod:u1","veth1","NETFILTER_DROP",3,180]]`],
    });
    await client.execute("INSERT INTO drop_stats VALUES ('1m', 0, 'n1', 'pod:u1', 'veth1', 'NETFILTER_DROP', 2, 120)");
    const before = await client.execute("SELECT * FROM drop_stats");
    client.close();

    const db = await openDb(url);
    const read = async (sql: string) => (await db.$client.execute(sql)).rows.map((r) => ({ ...r }));
    expect((await db.$client.execute("SELECT * FROM drop_stats")).rows).toEqual(before.rows);
    expect(await read("SELECT count(*) AS n FROM drop_service_stats")).toEqual([{ n: 0 }]);
    // A raw row of now, for the same key and minute, its service last.
    await db.$client.execute({
      sql:
        "INSERT INTO monitoring_raw_rows (node, boot_id, ts, flows, tcp, drops) VALUES ('n1', 'b1', ?, '[]', '[]', ?)",
      args: [80_000, `[["pod:u1","veth1","NETFILTER_DROP",1,60,"svc:shop/web"]]`],
    });
    await runMaintenance(db, 3 * 3_600_000, DEFAULT_MONITORING_SETTINGS);
    expect(await read("SELECT level, bucket, packets, bytes FROM drop_stats ORDER BY level, bucket")).toEqual([
      { level: "1h", bucket: 0, packets: 4, bytes: 240 },
      { level: "1m", bucket: 0, packets: 2, bytes: 120 },
      { level: "1m", bucket: 60_000, packets: 4, bytes: 240 },
    ]);
    expect(await read("SELECT level, bucket, service, packets FROM drop_service_stats ORDER BY level, bucket")).toEqual(
      [
        { level: "1h", bucket: 0, service: "svc:shop/web", packets: 1 },
        { level: "1m", bucket: 60_000, service: "svc:shop/web", packets: 1 },
      ],
    );
    db.$client.close();
  });
});

describe("migration 0017", () => {
  it("adds the DNS tables only: rows stored before stay as they were, and a batch's DNS then lands at every level", async () => {
    const { url, client } = await olderDb(17);
    await client.execute("INSERT INTO drop_stats VALUES ('1m', 0, 'n1', 'pod:u1', 'veth1', 'NETFILTER_DROP', 2, 120)");
    await client.execute(
      "INSERT INTO monitoring_raw_rows (node, boot_id, ts, flows, tcp, drops) VALUES ('n1', 'b1', 70000, '[]', '[]', '[]')",
    );
    const before = {
      drops: (await client.execute("SELECT * FROM drop_stats")).rows,
      raw: (await client.execute("SELECT * FROM monitoring_raw_rows")).rows,
    };
    client.close();

    const db = await openDb(url);
    const read = async (sql: string) => (await db.$client.execute(sql)).rows.map((r) => ({ ...r }));
    expect((await db.$client.execute("SELECT * FROM drop_stats")).rows).toEqual(before.drops);
    expect((await db.$client.execute("SELECT * FROM monitoring_raw_rows")).rows).toEqual(before.raw);
    expect(await read("SELECT count(*) AS n FROM dns_server_stats")).toEqual([{ n: 0 }]);
    await rawWriteTransaction(
      db,
      (tx) =>
        storeDns(tx, "n1", 70_000, {
          servers: [],
          names: [{ pod: "u1", name: "example.com", queries: 3, nxdomain: 1 }],
        }),
    );
    expect(await read("SELECT level, bucket, pod, queries, nxdomain FROM dns_name_stats ORDER BY level")).toEqual([
      { level: "1h", bucket: 0, pod: "pod:u1", queries: 3, nxdomain: 1 },
      { level: "1m", bucket: 60_000, pod: "pod:u1", queries: 3, nxdomain: 1 },
      { level: "raw", bucket: 70_000, pod: "pod:u1", queries: 3, nxdomain: 1 },
    ]);
    db.$client.close();
  });
});

describe("migration 0018", () => {
  it("adds dns_node_totals only: stored DNS rows stay, and the totals count from the upgrade on", async () => {
    const { url, client } = await olderDb(18);
    await client.execute(
      "INSERT INTO dns_server_stats (level, bucket, node, pod, server, port, q_a) VALUES ('raw', 10000, 'n1', 'pod:u1', '10.96.0.10', 53, 4)",
    );
    const before = (await client.execute("SELECT * FROM dns_server_stats")).rows;
    client.close();

    const db = await openDb(url);
    const read = async (sql: string) => (await db.$client.execute(sql)).rows.map((r) => ({ ...r }));
    expect((await db.$client.execute("SELECT * FROM dns_server_stats")).rows).toEqual(before);
    expect(await read("SELECT count(*) AS n FROM dns_node_totals")).toEqual([{ n: 0 }]);
    const server = dnsServer({
      pod: "u1",
      queries: { A: 3 },
      responses: { NOERROR: 2, NXDOMAIN: 1 },
      latency: { 0: 3 },
      latencySumUs: 150,
    });
    await rawWriteTransaction(db, (tx) => storeDns(tx, "n1", 70_000, { servers: [server], names: [] }));
    expect(await read("SELECT node, q_a, r_noerror, r_nxdomain, lat_0, latency_sum_us FROM dns_node_totals")).toEqual([
      { node: "n1", q_a: 3, r_noerror: 2, r_nxdomain: 1, lat_0: 3, latency_sum_us: 150 },
    ]);
    db.$client.close();
  });
});

describe("migration 0019", () => {
  it("adds the DNS keys-cut counters to node_monitoring: a node's row stays, its new counters start at 0", async () => {
    const { url, client } = await olderDb(19);
    await client.execute(
      "INSERT INTO nodes (name, boot_id, last_seq, last_ts, first_seen, last_seen) VALUES ('n1', 'b1', 1, 1, 1, 1)",
    );
    await client.execute(
      "INSERT INTO node_monitoring (node, flow_keys_cut, drop_keys_cut, updated_at) VALUES ('n1', 5, 2, 1000)",
    );
    client.close();

    const db = await openDb(url);
    const read = async (sql: string) => (await db.$client.execute(sql)).rows.map((r) => ({ ...r }));
    expect(
      await read(
        "SELECT node, flow_keys_cut, drop_keys_cut, dns_name_keys_cut, dns_server_keys_cut FROM node_monitoring",
      ),
    ).toEqual([{ node: "n1", flow_keys_cut: 5, drop_keys_cut: 2, dns_name_keys_cut: 0, dns_server_keys_cut: 0 }]);
    db.$client.close();
  });
});

describe("migration 0021", () => {
  it("rebuilds join_tokens with expires_at nullable: every row and column kept, the index unique, new tokens may never expire", async () => {
    const { url, client } = await olderDb(21);
    // rows an older control plane left: a live token, a revoked and used one, an expired one; a node joined with one
    await client.execute(
      "INSERT INTO join_tokens (id, token_hash, description, created_at, expires_at, revoked_at, uses, last_used_at) VALUES " +
        "('a000000000000001', 'h1', 'kubernetes agents (install.sh)', 100, 200000, NULL, 0, NULL), " +
        "('a000000000000002', 'h2', NULL, 110, 300000, 150, 7, 140), " +
        "('a000000000000003', 'h3', 'old', 120, 130, NULL, 2, 125)",
    );
    await client.execute(
      "INSERT INTO nodes (name, boot_id, last_seq, last_ts, first_seen, last_seen) VALUES ('n1', 'b1', 1, 1, 1, 1)",
    );
    await client.execute(
      "INSERT INTO node_credentials (id, node, token_hash, join_token_id, created_at, revoked_at) " +
        "VALUES ('c1', 'n1', 'ch1', 'a000000000000002', 140, NULL)",
    );
    await client.execute("INSERT INTO desired_states (node, version, modules, updated_at) VALUES ('n1', 3, '{}', 1)");
    const before = (await client.execute("SELECT * FROM join_tokens ORDER BY id")).rows.map((r) => ({ ...r }));
    client.close();

    const db = await openDb(url);
    const read = async (sql: string) => (await db.$client.execute(sql)).rows.map((r) => ({ ...r }));
    expect(await read("SELECT * FROM join_tokens ORDER BY id")).toEqual(before);
    expect(before).toHaveLength(3);
    expect(await read("SELECT id, node, join_token_id FROM node_credentials")).toEqual([
      { id: "c1", node: "n1", join_token_id: "a000000000000002" },
    ]);
    expect(await read("SELECT node, version FROM desired_states")).toEqual([{ node: "n1", version: 3 }]);
    const columns = await read("SELECT name, \"notnull\" AS nn FROM pragma_table_info('join_tokens') ORDER BY cid");
    expect(columns.map((c) => c.name)).toEqual([
      "id",
      "token_hash",
      "description",
      "created_at",
      "expires_at",
      "revoked_at",
      "uses",
      "last_used_at",
    ]);
    expect(columns.find((c) => c.name === "expires_at")!.nn).toBe(0);
    await db.$client.execute(
      "INSERT INTO join_tokens (id, token_hash, created_at, expires_at) VALUES ('a000000000000004', 'h4', 1, NULL)",
    );
    await expect(
      db.$client.execute("INSERT INTO join_tokens (id, token_hash, created_at) VALUES ('a000000000000005', 'h1', 1)"),
    ).rejects.toThrow(/UNIQUE/);
    expect(await read("PRAGMA foreign_key_check")).toEqual([]);
    db.$client.close();
  });
});

describe("migrations 0020 and 0022 (alert notifications)", () => {
  /** A receiver as 0020 made them (no format). */
  const RECEIVER =
    "INSERT INTO alert_receivers (id, name, url, enabled, created_at, updated_at) VALUES ('r1', 'a', 'http://x/', 1, 1, 1)";

  it("add the receivers, outbox and seeds beside an older database's thresholds and alerts, every row kept", async () => {
    const { url, client } = await olderDb(20);
    await client.execute(
      "INSERT INTO thresholds (id, metric, scope_kind, target, upper, lower, hold_seconds, description, enabled, " +
        "created_at, updated_at) VALUES ('t1', 'rxBytesPerSec', 'node', 'n1', 1000, NULL, 0, 'mine', 1, 1, 1)",
    );
    await client.execute(
      "INSERT INTO alerts (id, threshold_id, metric, scope_kind, target, node, bound, upper, lower, hold_seconds, " +
        "breached_since, fired_at, value, peak, trough, last_value) " +
        "VALUES (7, 't1', 'rxBytesPerSec', 'node', 'n1', 'n1', 'upper', 1000, NULL, 0, 5, 5, 2000, 2000, 2000, 2000)",
    );
    const before = async (c: { execute(sql: string): Promise<{ rows: object[] }> }) =>
      Promise.all(
        ["thresholds", "alerts"].map(async (t) => (await c.execute(`SELECT * FROM ${t}`)).rows.map((r) => ({ ...r }))),
      );
    const kept = await before(client);
    client.close();

    const db = await openDb(url);
    expect(await before(db.$client)).toEqual(kept);
    const run = (sql: string) => db.$client.execute(sql);
    await run(RECEIVER);
    await run(
      "INSERT INTO alert_notifications (receiver_id, alert_id, status, alert, state, created_at, next_attempt_at) " +
        "VALUES ('r1', 7, 'firing', '{}', 'pending', 6, 6)",
    );
    expect((await run("SELECT format, delivered, gave_up FROM alert_receivers")).rows.map((r) => ({ ...r }))).toEqual([
      { format: "webhook", delivered: 0, gave_up: 0 },
    ]);
    expect((await run("SELECT count(*) AS n FROM seeds")).rows[0]!.n).toBe(0); // the first start seeds
    expect((await run("PRAGMA foreign_key_check")).rows).toEqual([]);
    db.$client.close();
  });

  it("0022 gives receivers made before it the webhook format", async () => {
    const { url, client } = await olderDb(22);
    await client.execute(RECEIVER);
    client.close();
    const db = await openDb(url);
    expect((await db.$client.execute("SELECT name, format FROM alert_receivers")).rows.map((r) => ({ ...r }))).toEqual([
      { name: "a", format: "webhook" },
    ]);
    db.$client.close();
  });
});

describe("localFilePath", () => {
  it.each([
    ["file:./data/ebpf-k8s.db", "./data/ebpf-k8s.db"],
    ["file:/var/lib/x.db", "/var/lib/x.db"],
    ["file:///var/lib/x.db", "/var/lib/x.db"],
    ["file:x.db?mode=rwc", "x.db"],
    [":memory:", undefined],
    ["file::memory:", undefined],
    ["libsql://db.example.com", undefined],
  ])("%s → %s", (url, path) => {
    expect(localFilePath(url)).toBe(path);
  });
});
