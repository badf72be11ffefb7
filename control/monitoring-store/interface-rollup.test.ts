// SPDX-License-Identifier: Apache-2.0
/**
 * Interface deltas at ingest and their rollup into interface_stats on a real
 * libSQL database: exact sums across boots, a recreated interface, a late
 * batch, a boot whose history is gone; retention of both.
 */
import { describe, expect, it } from "vitest";
import { storeBatch } from "../ingest/store.ts";
import { batch, useTestDb } from "../test-support.ts";
import type { Batch } from "../wire/batch.ts";
import {
  grown,
  H,
  LATE,
  ON_TIME,
  sample,
  SCENARIO_BOOT_A,
  SCENARIO_BOOT_B,
} from "./interface-scenario.test-support.ts";
import { HOUR_ROLLUP_EVERY_MS, runMaintenance } from "./maintenance.ts";
import { DEFAULT_MONITORING_SETTINGS } from "./settings.ts";

const MIN = 60_000;
const HOUR = 3_600_000;

const s = useTestDb();

const store = (b: Batch) => storeBatch(s.db, b, b.ts + 500);
const maintain = (now: number, settings = DEFAULT_MONITORING_SETTINGS) => runMaintenance(s.db, now, settings);

async function rows(sql: string) {
  return (await s.db.$client.execute(sql)).rows.map((r) => ({ ...r }));
}

/** interface_stats as (level, bucket, ifname, counters, interval_ms), in key order. */
const stats = () =>
  rows(
    "SELECT level, bucket, ifname, rx_packets AS rxPackets, rx_bytes AS rxBytes, tx_packets AS txPackets, tx_bytes AS txBytes, drops, interval_ms FROM interface_stats ORDER BY level, bucket, ifname",
  );

const bucket = (level: "1m" | "1h", at: number, ifname: string, n: number, ms: number) => ({
  level,
  bucket: at,
  ifname,
  ...grown(n),
  interval_ms: ms,
});

describe("deltas at ingest", () => {
  it("stores each interface's growth since the previous sample of its boot and ifindex, and the node's sum", async () => {
    for (const b of [...ON_TIME, LATE]) await store(b);
    const history = await rows(
      "SELECT boot_id, ts, rx_bytes, interval_ms, (SELECT json_group_array(json_array(j.value ->> 0, j.value ->> 12, j.value ->> 16)) FROM json_each(interfaces) j) AS each FROM interface_history ORDER BY id",
    );
    expect(history.map((h) => ({ ...h, each: JSON.parse(String(h.each)) }))).toEqual([
      { boot_id: SCENARIO_BOOT_A, ts: H + 10_000, rx_bytes: 1000, interval_ms: 10_000, each: [["eth0", 1000, 10_000]] },
      {
        boot_id: SCENARIO_BOOT_A,
        ts: H + 20_000,
        rx_bytes: 2100,
        interval_ms: 10_000,
        each: [["eth0", 2000, 10_000], ["veth1", 100, 10_000]],
      },
      // eth0 was recreated (ifindex 2 → 3): its new counters are its growth.
      {
        boot_id: SCENARIO_BOOT_A,
        ts: H + 30_000,
        rx_bytes: 800,
        interval_ms: 10_000,
        each: [["eth0", 500, 10_000], ["veth1", 300, 10_000]],
      },
      { boot_id: SCENARIO_BOOT_B, ts: H + 70_000, rx_bytes: 7000, interval_ms: 10_000, each: [["eth0", 7000, 10_000]] },
      { boot_id: SCENARIO_BOOT_B, ts: H + 80_000, rx_bytes: 2000, interval_ms: 10_000, each: [["eth0", 2000, 10_000]] },
      // Late, from boot A's spool: against boot A's last sample, not boot B's totals.
      {
        boot_id: SCENARIO_BOOT_A,
        ts: H + 40_000,
        rx_bytes: 300,
        interval_ms: 10_000,
        each: [["eth0", 300, 10_000], ["veth1", 0, 10_000]],
      },
    ]);
  });

  it("a counter that goes down within a boot counts from zero, the others keep their growth; time covered follows the agent's clock", async () => {
    await store(batch({ seq: 1, ts: H + 10_000, interval: 10, interfaces: [sample("eth0", 2, 5000)] }));
    await store(batch({ seq: 2, ts: H + 25_000, interval: 10, interfaces: [sample("eth0", 2, 200)] }));
    await store(batch({ seq: 3, ts: H + 35_000, interval: 10, interfaces: [{ ...sample("eth0", 2, 300), drops: 1 }] }));
    expect(await rows("SELECT rx_bytes, tx_bytes, drops, interval_ms FROM interface_history ORDER BY id")).toEqual([
      { rx_bytes: 5000, tx_bytes: 10_000, drops: 50, interval_ms: 10_000 },
      { rx_bytes: 200, tx_bytes: 400, drops: 2, interval_ms: 15_000 },
      { rx_bytes: 100, tx_bytes: 200, drops: 1, interval_ms: 10_000 },
    ]);
  });

  it("a late batch of a boot whose history retention removed adds nothing (its growth is unknown)", async () => {
    const settings = { ...DEFAULT_MONITORING_SETTINGS, retention: { raw: 10 * MIN, "1m": HOUR, "1h": 2 * HOUR } };
    await store(ON_TIME[0]!);
    await maintain(H + HOUR, settings); // rolled, then removed
    expect(await rows("SELECT count(*) AS n FROM interface_history")).toEqual([{ n: 0 }]);
    await store({ ...ON_TIME[3]!, ts: H + HOUR + 10_000 }); // boot B
    await store({ ...ON_TIME[1]!, ts: H + HOUR + 5_000 }); // boot A again, late
    expect(await rows("SELECT boot_id, rx_bytes, interval_ms FROM interface_history ORDER BY id")).toEqual([
      { boot_id: SCENARIO_BOOT_B, rx_bytes: 7000, interval_ms: 10_000 },
      { boot_id: SCENARIO_BOOT_A, rx_bytes: 0, interval_ms: 0 },
    ]);
  });
});

describe("rollup into interface_stats", () => {
  it("sums per interface and per node (ifname ''), exactly, a late batch included after its minute was rolled", async () => {
    for (const b of ON_TIME) await store(b);
    const first = await maintain(H + 85_000);
    expect(first.rolledHistory).toBe(5);
    await store(LATE);
    expect((await maintain(H + 90_000)).rolledHistory).toBe(1);
    const minutes = [
      bucket("1m", H, "", 4200, 40_000),
      bucket("1m", H, "eth0", 3800, 40_000),
      bucket("1m", H, "veth1", 400, 30_000),
      bucket("1m", H + MIN, "", 9000, 20_000),
      bucket("1m", H + MIN, "eth0", 9000, 20_000),
    ];
    // The hour waits for the first whole ten minutes.
    expect(await stats()).toEqual(minutes);
    await maintain(H + HOUR_ROLLUP_EVERY_MS);
    expect(await stats()).toEqual([
      bucket("1h", H, "", 13_200, 60_000),
      bucket("1h", H, "eth0", 12_800, 60_000),
      bucket("1h", H, "veth1", 400, 30_000),
      ...minutes,
    ]);
    expect(await rows("SELECT count(*) AS n FROM interface_history WHERE rolled != 3")).toEqual([{ n: 0 }]);
    // Nothing new: another run changes nothing.
    await maintain(H + HOUR_ROLLUP_EVERY_MS + MIN);
    expect((await stats()).length).toBe(8);
  });

  it("a batch without interfaces (ifstats off) makes no bucket: no data, not zero traffic", async () => {
    await store(batch({ seq: 1, ts: H + 10_000, interfaces: [] }));
    expect((await maintain(H + HOUR_ROLLUP_EVERY_MS)).rolledHistory).toBe(1);
    expect(await stats()).toEqual([]);
  });

  it("rolls many nodes in chunks, each history row once", async () => {
    const nodes = 110, batches = 3; // 330 rows: two chunks of CHUNK_HISTORY_ROWS
    for (let n = 0; n < nodes; n++) {
      for (let b = 1; b <= batches; b++) {
        await store(
          batch({
            node: `node-${n}`,
            seq: b,
            ts: H + b * 10_000,
            interval: 10,
            interfaces: [sample("eth0", 2, 100 * b)],
          }),
        );
      }
    }
    expect((await maintain(H + HOUR_ROLLUP_EVERY_MS)).rolledHistory).toBe(nodes * batches);
    expect(
      await rows(
        "SELECT level, ifname, count(*) AS n, sum(rx_bytes) AS b FROM interface_stats GROUP BY level, ifname ORDER BY level, ifname",
      ),
    ).toEqual([
      { level: "1h", ifname: "", n: nodes, b: nodes * 300 },
      { level: "1h", ifname: "eth0", n: nodes, b: nodes * 300 },
      { level: "1m", ifname: "", n: nodes, b: nodes * 300 },
      { level: "1m", ifname: "eth0", n: nodes, b: nodes * 300 },
    ]);
  });
});

describe("retention", () => {
  const settings = { ...DEFAULT_MONITORING_SETTINGS, retention: { raw: 10 * MIN, "1m": HOUR, "1h": 2 * HOUR } };

  it("keeps history and buckets within their retention", async () => {
    for (const b of ON_TIME) await store(b);
    const r = await maintain(H + 9 * MIN, settings);
    expect(r).toMatchObject({ rolledHistory: 5, deletedHistory: 0, deletedBuckets: 0 });
    expect(await rows("SELECT count(*) AS n FROM interface_history")).toEqual([{ n: 5 }]);
  });

  it("deletes history once rolled into both levels and past the raw retention, then each level after its own", async () => {
    for (const b of ON_TIME) await store(b);
    const shortRaw = { ...settings, retention: { ...settings.retention, raw: MIN } };
    await maintain(H + 9 * MIN, shortRaw); // into 1m only: the hour waits for H + 10 min
    // Past the raw retention, but not yet in the hour: kept until it is.
    expect(await rows("SELECT count(*) AS n FROM interface_history WHERE rolled = 1")).toEqual([{ n: 5 }]);
    const r = await maintain(H + 10 * MIN, shortRaw);
    expect(r).toMatchObject({ deletedHistory: 5, deletedBuckets: 0 });
    // Minute H+1 ends at H+2 min; an hour later it is gone, the hour stays.
    expect((await maintain(H + 62 * MIN, settings)).deletedBuckets).toBe(5);
    expect((await stats()).map((s) => s.level)).toEqual(["1h", "1h", "1h"]);
    expect((await maintain(H + 3 * HOUR, settings)).deletedBuckets).toBe(3);
    expect(await stats()).toEqual([]);
  });
});
