// SPDX-License-Identifier: Apache-2.0
/**
 * The monitoring store on a real libSQL database: what ingest writes (pods,
 * raw rows, endpoint names, node counters), what maintenance rolls up and
 * deletes, with exact numbers.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type Db, openDb } from "../db/client.ts";
import { storeBatch } from "../ingest/store.ts";
import { drop, flow, pod, tcp } from "../monitoring/fixtures.test-support.ts";
import { batch, openTestDb, T0, type TestDb } from "../test-support.ts";
import type { Batch } from "../wire/batch.ts";
import type { PodReport } from "../wire/monitoring.ts";
import type { PodInfo } from "../wire/pods.ts";
import { forgetPodDirectory } from "./directory.ts";
import { HOUR_ROLLUP_EVERY_MS, runMaintenance } from "./maintenance.ts";
import { DEFAULT_MONITORING_SETTINGS, type MonitoringSettings } from "./settings.ts";

const MIN = 60_000;
const HOUR = 3_600_000;
/** T0 rounded down to a whole hour, plus 10 s: batches below fall into known minutes and hours. */
const H = Math.floor(T0 / HOUR) * HOUR;

let t: TestDb;
let db: Db;
beforeEach(async () => {
  t = await openTestDb();
  db = t.db;
});
afterEach(() => t.close());

const report = (p: PodInfo, n = 0): PodReport => ({
  ...p,
  rxPackets: n,
  rxBytes: 100 * n,
  txPackets: 2 * n,
  txBytes: 200 * n,
  drops: 0,
});
const WEB = pod("u-web", "web", ["10.0.1.2"], { ifindex: 11 });
const CACHE = pod("u-cache", "cache", ["10.0.1.3"], { ifindex: 12 });
const DB = pod("u-db", "db", ["10.0.2.2"], { namespace: "data", ifindex: 21 });

let seqs = new Map<string, number>();
beforeEach(() => (seqs = new Map()));
/** Stores a batch of `node` at agent time ts, numbering seqs per node. */
function store(
  node: string,
  ts: number,
  extra: Partial<Batch>,
  settings: MonitoringSettings = DEFAULT_MONITORING_SETTINGS,
  receivedAt = ts,
) {
  const seq = (seqs.get(node) ?? 0) + 1;
  seqs.set(node, seq);
  return storeBatch(db, batch({ node, seq, ts, interfaces: [], ...extra }), receivedAt, settings);
}

async function rows(sql: string, args: (string | number)[] = []) {
  return (await db.$client.execute({ sql, args })).rows.map((r) => ({ ...r }));
}

/** node-a has web and cache, node-b has db. */
async function twoNodes(ts: number, n = 1) {
  await store("node-a", ts, { pods: [report(WEB, n), report(CACHE, n)] });
  await store("node-b", ts, { pods: [report(DB, n)] });
}

// Both connections a raw transaction may run on: libSQL's client (memory, remote) and the prepared one (file).
describe.each(["memory", "file"] as const)("pods (%s database)", (kind) => {
  beforeEach(async () => {
    t.close();
    t = await openTestDb(kind);
    db = t.db;
  });

  it("a report that changes only counters updates them (and the rates) in place; one that changes metadata rewrites the row", async () => {
    await store("node-a", T0, { pods: [report(WEB, 1)] });
    const before = await rows("SELECT meta_hash FROM pods WHERE uid = 'u-web'");
    await store("node-a", T0 + 10_000, { pods: [report(WEB, 3)] });
    expect(await rows("SELECT rx_bytes, tx_packets, rx_bytes_per_sec, ts, last_seen, meta_hash FROM pods")).toEqual([
      { rx_bytes: 300, tx_packets: 6, rx_bytes_per_sec: 20, ts: T0 + 10_000, last_seen: T0 + 10_000, ...before[0] },
    ]);
    // A new label and a new IP: metadata, so the whole row is written again, counters and rates too.
    const relabelled = { ...WEB, labels: { ...WEB.labels, version: "2" }, ips: ["10.0.1.9"] };
    await store("node-a", T0 + 20_000, { pods: [report(relabelled, 4)] });
    const [after] = await rows("SELECT labels, ips, rx_bytes, rx_bytes_per_sec, meta_hash FROM pods");
    expect(after).toMatchObject({ rx_bytes: 400, rx_bytes_per_sec: 10, ips: JSON.stringify(["10.0.1.9"]) });
    expect(JSON.parse(String(after!.labels))).toEqual(relabelled.labels);
    expect(after!.meta_hash).not.toEqual(before[0]!.meta_hash);
    // And back to counters only, against the new metadata.
    await store("node-a", T0 + 30_000, { pods: [report(relabelled, 6)] });
    expect(await rows("SELECT rx_bytes, ips, meta_hash FROM pods")).toEqual([
      { rx_bytes: 600, ips: JSON.stringify(["10.0.1.9"]), meta_hash: after!.meta_hash },
    ]);
  });

  it("metadata written by a control plane that knows no meta_hash (a rollout, a rollback) is never trusted to a stale hash", async () => {
    await store("node-a", T0, { pods: [report(WEB, 1)] });
    // What a control plane from before migration 0014 does: the whole row, without meta_hash.
    await db.$client.execute({
      sql: "UPDATE pods SET labels = ?, ips = ? WHERE uid = 'u-web'",
      args: ['{"app":"x"}', '["10.9.9.9"]'],
    });
    expect(await rows("SELECT meta_hash FROM pods")).toEqual([{ meta_hash: null }]);
    // The next report, with the metadata of before: written whole again, not narrowly over the other one's values.
    await store("node-a", T0 + 10_000, { pods: [report(WEB, 2)] });
    const [row] = await rows("SELECT labels, ips, rx_bytes, meta_hash FROM pods");
    expect(JSON.parse(String(row!.labels))).toEqual(WEB.labels);
    expect(row).toMatchObject({ ips: JSON.stringify(WEB.ips), rx_bytes: 200 });
    expect(row!.meta_hash).not.toBeNull();
  });

  it("stores pods with counters and rates, marks vanished ones, and drops them after the grace period", async () => {
    await twoNodes(T0, 1);
    await store("node-a", T0 + 10_000, { pods: [report(WEB, 11)] }, DEFAULT_MONITORING_SETTINGS, T0 + 10_500);
    const [cache, db_, web] = await rows(
      "SELECT uid, node, rx_bytes, rx_bytes_per_sec, tx_packets_per_sec, first_seen, last_seen, vanished_ts, vanished_at FROM pods ORDER BY uid",
    );
    expect(web).toMatchObject({
      uid: "u-web",
      rx_bytes: 1100,
      rx_bytes_per_sec: 100,
      tx_packets_per_sec: 2,
      first_seen: T0,
      last_seen: T0 + 10_000,
      vanished_ts: null,
    });
    expect(cache).toMatchObject({ uid: "u-cache", last_seen: T0, vanished_ts: T0 + 10_000, vanished_at: T0 + 10_500 });
    expect(db_).toMatchObject({ uid: "u-db", node: "node-b", vanished_ts: null }); // another node's pods are untouched

    const grace = DEFAULT_MONITORING_SETTINGS.podGraceMs;
    expect((await runMaintenance(db, T0 + 10_500 + grace - 1, DEFAULT_MONITORING_SETTINGS)).droppedPods).toBe(0);
    expect((await runMaintenance(db, T0 + 10_500 + grace, DEFAULT_MONITORING_SETTINGS)).droppedPods).toBe(1);
    expect((await rows("SELECT uid FROM pods ORDER BY uid")).map((r) => r.uid)).toEqual(["u-db", "u-web"]);
  });

  it("a pod back within the grace period continues; an older batch changes nothing", async () => {
    await store("node-a", T0, { pods: [report(WEB, 1), report(CACHE, 1)] });
    await store("node-a", T0 + 10_000, { pods: [report(WEB, 2)] });
    await store("node-a", T0 + 20_000, { pods: [report(WEB, 3), report(CACHE, 3)] });
    expect(await rows("SELECT first_seen, last_seen, vanished_ts, vanished_at FROM pods WHERE uid = 'u-cache'"))
      .toEqual([
        { first_seen: T0, last_seen: T0 + 20_000, vanished_ts: null, vanished_at: null },
      ]);
    // A batch of a later seq but an earlier agent time (clock stepped back) must not make web vanish or roll counters back.
    await store("node-a", T0 + 15_000, { pods: [report(CACHE, 9)] });
    expect(await rows("SELECT uid, rx_bytes, vanished_ts FROM pods ORDER BY uid")).toEqual([
      { uid: "u-cache", rx_bytes: 300, vanished_ts: null },
      { uid: "u-web", rx_bytes: 300, vanished_ts: null },
    ]);
  });

  it("no rates across agent boots", async () => {
    await store("node-a", T0, { pods: [report(WEB, 1)] });
    await store("node-a", T0 + 10_000, {
      bootId: "7a000000-0000-4000-8000-000000000001",
      seq: 1,
      pods: [report(WEB, 5)],
    });
    expect(await rows("SELECT rx_bytes, rx_bytes_per_sec FROM pods")).toEqual([{
      rx_bytes: 500,
      rx_bytes_per_sec: null,
    }]);
  });
});

describe("flows, tcp and drops at ingest", () => {
  it("keeps one observation per packet, attributes both ends and remembers their names", async () => {
    await twoNodes(T0);
    // web → db: node-a saw it leave web (tx), node-b saw it enter db (rx): the same 5 packets.
    await store("node-a", T0 + 10_000, {
      pods: [report(WEB), report(CACHE)],
      flows: [
        flow({ packets: 5, bytes: 500, tcpFlags: 2 }),
        flow({ src: "10.0.1.2", dst: "1.1.1.1", port: 443, packets: 2, bytes: 120 }),
      ],
    });
    await store("node-b", T0 + 10_000, { pods: [report(DB)], flows: [flow({ obs: "rx", packets: 5, bytes: 500 })] });
    const raw = await rows("SELECT node, ts, flows FROM monitoring_raw ORDER BY id");
    expect(raw.map((r) => ({ ...r, flows: JSON.parse(String(r.flows)) }))).toEqual([
      {
        node: "node-a",
        ts: T0 + 10_000,
        // Heaviest first (the order caps rank them in).
        flows: [
          ["pod:u-web", "pod:u-db", 5432, 6, 5, 500, 0, 0, 2, ""],
          ["pod:u-web", "ip:1.1.1.1", 443, 6, 2, 120, 0, 0, 0, ""],
        ],
      },
    ]);
    expect(await rows("SELECT node, flow_duplicates FROM node_monitoring ORDER BY node")).toEqual([{
      node: "node-b",
      flow_duplicates: 1,
    }]);
    expect(await rows("SELECT key, kind, namespace, name, node, ip FROM endpoints ORDER BY key")).toEqual([
      { key: "ip:1.1.1.1", kind: "world", namespace: null, name: null, node: null, ip: "1.1.1.1" },
      { key: "pod:u-db", kind: "pod", namespace: "data", name: "db", node: "node-b", ip: null },
      { key: "pod:u-web", kind: "pod", namespace: "default", name: "web", node: "node-a", ip: null },
    ]);
  });

  it("stores tcp and drop rows and the agent's monitoring counters", async () => {
    await twoNodes(T0);
    const monitoring = {
      flowEntries: 3,
      flowTableSize: 65536,
      flowsCreated: 9,
      flowsEvicted: 0,
      flowCreateFailed: 0,
      flowRecordsCut: 0,
      tcpRecordsCut: 0,
      dropRecordsCut: 0,
    };
    await store("node-a", T0 + 10_000, {
      tcp: [tcp({ opened: 2, failedRefused: 1, srttUsSum: 300, srttSamples: 2 })],
      drops: [drop({ pod: "u-web", ifname: "veth-web", reason: "NO_SOCKET", packets: 3, bytes: 180 })],
      monitoring,
    });
    const [raw] = await rows("SELECT tcp, drops FROM monitoring_raw");
    expect(JSON.parse(String(raw!.tcp))).toEqual([[
      "pod:u-web",
      "pod:u-db",
      5432,
      "client",
      2,
      1,
      0,
      0,
      0,
      0,
      0,
      0,
      0,
      300,
      2,
      "",
    ]]);
    expect(JSON.parse(String(raw!.drops))).toEqual([["pod:u-web", "veth-web", "NO_SOCKET", 3, 180, ""]]);
    expect(JSON.parse(String((await rows("SELECT agent FROM node_monitoring"))[0]!.agent))).toEqual(monitoring);
  });

  it("caps distinct keys per batch into one 'other' row and counts what it cut", async () => {
    await twoNodes(T0);
    const settings = {
      ...DEFAULT_MONITORING_SETTINGS,
      caps: { ...DEFAULT_MONITORING_SETTINGS.caps, flows: 2, tcp: 2, drops: 2 },
    };
    await store(
      "node-a",
      T0 + 10_000,
      { flows: [1, 2, 3, 4].map((i) => flow({ dst: `1.1.1.${i}`, port: 80, packets: i, bytes: 100 * i })) },
      settings,
    );
    const [raw] = await rows("SELECT flows FROM monitoring_raw");
    expect(JSON.parse(String(raw!.flows))).toEqual([
      ["pod:u-web", "ip:1.1.1.4", 80, 6, 4, 400, 0, 0, 0, ""],
      ["pod:u-web", "ip:1.1.1.3", 80, 6, 3, 300, 0, 0, 0, ""],
      ["other", "other", 0, 0, 3, 300, 0, 0, 0, ""],
    ]);
    expect(await rows("SELECT flow_keys_cut FROM node_monitoring")).toEqual([{ flow_keys_cut: 2 }]);
  });

  it("attributes after a restart of the control plane exactly as before (the pod directory reloads from the table)", async () => {
    await twoNodes(T0);
    forgetPodDirectory(db);
    await store("node-a", T0 + 10_000, { flows: [flow({ packets: 1, bytes: 100 })] });
    const [raw] = await rows("SELECT flows FROM monitoring_raw");
    expect(JSON.parse(String(raw!.flows))[0].slice(0, 2)).toEqual(["pod:u-web", "pod:u-db"]);
  });

  it("a late batch (older boot, from the spool) still lands its flows but not its pods", async () => {
    await store("node-a", T0 + 60_000, { pods: [report(WEB, 7)] });
    await store("node-a", T0, {
      bootId: "7a000000-0000-4000-8000-000000000002",
      seq: 1,
      pods: [report(CACHE, 1)],
      flows: [flow({ packets: 4, bytes: 40 })],
    });
    expect(await rows("SELECT uid FROM pods")).toEqual([{ uid: "u-web" }]);
    expect(await rows("SELECT node, ts FROM monitoring_raw")).toEqual([{ node: "node-a", ts: T0 }]);
  });
});

describe("rollups and retention", () => {
  const flowsAt = async (ts: number, bytes: number, extra: Partial<Batch> = {}, settings?: MonitoringSettings) =>
    store("node-a", ts, { flows: [flow({ packets: 1, bytes, tcpFlags: bytes === 100 ? 2 : 16 })], ...extra }, settings);
  const stats = () =>
    rows(
      "SELECT level, bucket, client, server, fwd_packets, fwd_bytes, tcp_flags FROM flow_stats ORDER BY level, bucket",
    );

  it("adds every raw row once into its minute and hour (a batch at hh:01:00.000 counts for minute 00)", async () => {
    await twoNodes(H);
    await flowsAt(H + 10_000, 100);
    await flowsAt(H + 60_000, 200);
    await flowsAt(H + 70_000, 400);
    const r = await runMaintenance(db, H + 80_000, DEFAULT_MONITORING_SETTINGS);
    expect(r.rolledBatches).toBe(3);
    const pair = { client: "pod:u-web", server: "pod:u-db" };
    const minutes = [
      { level: "1m", bucket: H, ...pair, fwd_packets: 2, fwd_bytes: 300, tcp_flags: 18 },
      { level: "1m", bucket: H + MIN, ...pair, fwd_packets: 1, fwd_bytes: 400, tcp_flags: 16 },
    ];
    // The hour waits for the first whole ten minutes, so that more batches merge before each upsert.
    expect(await stats()).toEqual(minutes);
    expect((await runMaintenance(db, H + HOUR_ROLLUP_EVERY_MS, DEFAULT_MONITORING_SETTINGS)).rolledBatches).toBe(0);
    expect(await stats()).toEqual([
      { level: "1h", bucket: H, ...pair, fwd_packets: 3, fwd_bytes: 700, tcp_flags: 18 },
      ...minutes,
    ]);
    // Nothing new: a second pass changes nothing. A late batch for minute 00 is added into it, and into the hour.
    await runMaintenance(db, H + HOUR_ROLLUP_EVERY_MS + 10_000, DEFAULT_MONITORING_SETTINGS);
    expect((await stats()).map((s) => s.fwd_bytes)).toEqual([700, 300, 400]);
    await flowsAt(H + 30_000, 800, { bootId: "7a000000-0000-4000-8000-000000000003", seq: 1 });
    await runMaintenance(db, H + HOUR_ROLLUP_EVERY_MS + 20_000, DEFAULT_MONITORING_SETTINGS);
    expect((await stats()).map((s) => [s.level, s.bucket, s.fwd_bytes])).toEqual([
      ["1h", H, 1500],
      ["1m", H, 1100],
      ["1m", H + MIN, 400],
    ]);
  });

  it("caps each bucket against the keys it already holds, keeping totals exact", async () => {
    await twoNodes(H);
    const settings = {
      ...DEFAULT_MONITORING_SETTINGS,
      caps: { ...DEFAULT_MONITORING_SETTINGS.caps, flows: 2, tcp: 2, drops: 2 },
    };
    const to = (i: number, bytes: number) => flow({ dst: `1.1.1.${i}`, port: 80, packets: 1, bytes });
    await store("node-a", H + 10_000, { flows: [to(1, 100), to(2, 50)] }, settings);
    await runMaintenance(db, H + 15_000, settings);
    // Same minute: keys 1 and 2 are stored; 3 is new and heavier but finds no room; 2 still gets through.
    await store("node-a", H + 20_000, { flows: [to(3, 1000), to(2, 5)] }, settings);
    const r = await runMaintenance(db, H + 25_000, settings);
    expect(r.keysCut).toBe(1); // key 3 in the minute; the hour is rolled later, from both batches at once
    expect((await runMaintenance(db, H + HOUR_ROLLUP_EVERY_MS, settings)).keysCut).toBe(1); // 3 and 1 are the heaviest of the hour; 2 is cut
    const minute = await rows("SELECT server, fwd_bytes FROM flow_stats WHERE level = '1m' ORDER BY server");
    expect(minute).toEqual([
      { server: "ip:1.1.1.1", fwd_bytes: 100 },
      { server: "ip:1.1.1.2", fwd_bytes: 55 },
      { server: "other", fwd_bytes: 1000 },
    ]);
    expect(await rows("SELECT flow_keys_cut FROM node_monitoring WHERE node = 'node-a'")).toEqual([{
      flow_keys_cut: 2,
    }]);
    expect(await rows("SELECT server, fwd_bytes FROM flow_stats WHERE level = '1h' ORDER BY server")).toEqual([
      { server: "ip:1.1.1.1", fwd_bytes: 100 },
      { server: "ip:1.1.1.3", fwd_bytes: 1000 },
      { server: "other", fwd_bytes: 55 },
    ]);
  });

  it("a raw 'other' row joins the bucket's 'other' when the bucket is over its cap", async () => {
    await twoNodes(H);
    const settings = {
      ...DEFAULT_MONITORING_SETTINGS,
      caps: { ...DEFAULT_MONITORING_SETTINGS.caps, flows: 2, tcp: 2, drops: 2 },
    };
    const to = (i: number, bytes: number) => flow({ dst: `1.1.1.${i}`, port: 80, packets: 1, bytes });
    await store("node-a", H + 10_000, { flows: [to(1, 100), to(2, 200), to(3, 1), to(4, 2)] }, settings); // 3 and 4 → raw other
    await store("node-a", H + 20_000, { flows: [to(5, 50)] }, settings);
    await runMaintenance(db, H + 25_000, settings);
    expect(await rows("SELECT server, fwd_packets, fwd_bytes FROM flow_stats WHERE level = '1m' ORDER BY server"))
      .toEqual([
        { server: "ip:1.1.1.1", fwd_packets: 1, fwd_bytes: 100 },
        { server: "ip:1.1.1.2", fwd_packets: 1, fwd_bytes: 200 },
        { server: "other", fwd_packets: 3, fwd_bytes: 53 },
      ]);
  });

  it("rolls many nodes in chunks, each raw row once", async () => {
    const nodes = 50, batches = 4; // 200 raw rows: more than one chunk
    for (let n = 0; n < nodes; n++) {
      const node = `node-${n}`;
      await store(node, H, { pods: [report(pod(`u-${n}`, `p-${n}`, [`10.1.${n}.2`]))] });
      for (let b = 1; b <= batches; b++) {
        await store(node, H + b * 10_000, {
          flows: [flow({ src: `10.1.${n}.2`, dst: "1.1.1.1", port: 443, packets: b, bytes: 10 * b })],
        });
      }
    }
    const r = await runMaintenance(db, H + HOUR_ROLLUP_EVERY_MS, DEFAULT_MONITORING_SETTINGS);
    expect(r.rolledBatches).toBe(nodes * batches);
    expect(
      await rows(
        "SELECT level, count(*) AS n, sum(fwd_packets) AS p, sum(fwd_bytes) AS b FROM flow_stats GROUP BY level ORDER BY level",
      ),
    ).toEqual([
      { level: "1h", n: nodes, p: nodes * 10, b: nodes * 100 },
      { level: "1m", n: nodes, p: nodes * 10, b: nodes * 100 },
    ]);
    expect(await rows("SELECT count(*) AS n FROM monitoring_raw WHERE rolled != 3")).toEqual([{ n: 0 }]);
  });

  it("deletes each level after its retention, raw rows only once rolled, and forgets unused endpoint names", async () => {
    await twoNodes(H);
    await flowsAt(H + 10_000, 100);
    const settings = { ...DEFAULT_MONITORING_SETTINGS, retention: { raw: 10 * MIN, "1m": HOUR, "1h": 2 * HOUR } };
    // Far in the future, but the raw row was never rolled: it is rolled first, then removed.
    const late = H + 10 * HOUR;
    const r = await runMaintenance(db, late, settings);
    expect(r).toMatchObject({ rolledBatches: 1, deletedRaw: 1, deletedBuckets: 2, forgottenEndpoints: 2 });
    expect(await rows("SELECT count(*) AS n FROM monitoring_raw")).toEqual([{ n: 0 }]);
    expect(await stats()).toEqual([]);
  });

  it("keeps what is within retention", async () => {
    await twoNodes(H);
    await flowsAt(H + 10_000, 100);
    const settings = { ...DEFAULT_MONITORING_SETTINGS, retention: { raw: 10 * MIN, "1m": HOUR, "1h": 2 * HOUR } };
    const r = await runMaintenance(db, H + 9 * MIN, settings);
    expect(r).toMatchObject({ rolledBatches: 1, deletedRaw: 0, deletedBuckets: 0, forgottenEndpoints: 0 });
    expect(await rows("SELECT count(*) AS n FROM monitoring_raw")).toEqual([{ n: 1 }]);
    // The minute bucket [H, H+1m) ends 1 h before H + 61 min: gone; the hour stays.
    await runMaintenance(db, H + 61 * MIN, settings);
    expect((await stats()).map((s) => s.level)).toEqual(["1h"]);
  });

  it("rolls tcp and drop rows too", async () => {
    await twoNodes(H);
    await store("node-a", H + 10_000, { tcp: [tcp({ opened: 1, retransmits: 2 })], drops: [drop({ packets: 1 })] });
    await store("node-a", H + 20_000, { tcp: [tcp({ opened: 3, retransmits: 1 })], drops: [drop({ packets: 2 })] });
    await runMaintenance(db, H + HOUR_ROLLUP_EVERY_MS, DEFAULT_MONITORING_SETTINGS);
    expect(await rows("SELECT level, opened, retransmits FROM tcp_stats ORDER BY level")).toEqual([
      { level: "1h", opened: 4, retransmits: 3 },
      { level: "1m", opened: 4, retransmits: 3 },
    ]);
    expect(await rows("SELECT level, pod, ifname, reason, packets FROM drop_stats ORDER BY level")).toEqual([
      { level: "1h", pod: "", ifname: "", reason: "NETFILTER_DROP", packets: 3 },
      { level: "1m", pod: "", ifname: "", reason: "NETFILTER_DROP", packets: 3 },
    ]);
  });
});

describe("rolled marks", () => {
  it("survive a restart: the reopened database rolls each raw row into each level once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ebpf-k8s-marks-"));
    const url = `file:${join(dir, "control.db")}`;
    const flowsAt = (db: Db, seq: number, ts: number) =>
      storeBatch(
        db,
        batch({
          node: "node-a",
          seq,
          ts,
          interfaces: [],
          flows: [flow({ dst: "1.1.1.1", port: 443, packets: seq, bytes: 10 * seq })],
        }),
        ts,
      );
    try {
      const before = await openDb(url);
      await flowsAt(before, 1, H + 10_000);
      expect((await runMaintenance(before, H + 20_000, DEFAULT_MONITORING_SETTINGS)).rolledBatches).toBe(1);
      before.$client.close();

      const after = await openDb(url);
      await flowsAt(after, 2, H + 20_000);
      expect((await runMaintenance(after, H + 30_000, DEFAULT_MONITORING_SETTINGS)).rolledBatches).toBe(1);
      expect((await runMaintenance(after, H + HOUR_ROLLUP_EVERY_MS, DEFAULT_MONITORING_SETTINGS)).rolledBatches).toBe(
        0,
      );
      const read = async (sql: string) => (await after.$client.execute(sql)).rows.map((r) => ({ ...r }));
      expect(
        await read(
          "SELECT level, sum(fwd_packets) AS p, sum(fwd_bytes) AS b FROM flow_stats GROUP BY level ORDER BY level",
        ),
      ).toEqual([
        { level: "1h", p: 3, b: 30 },
        { level: "1m", p: 3, b: 30 },
      ]);
      expect(await read("SELECT ts, rolled FROM monitoring_raw ORDER BY id")).toEqual([
        { ts: H + 10_000, rolled: 3 },
        { ts: H + 20_000, rolled: 3 },
      ]);
      after.$client.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
