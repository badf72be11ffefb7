// SPDX-License-Identifier: Apache-2.0
/** GET /api/v1/nodes/:node/series: exact points per level, before and after the rollup, per interface; errors. */
import { beforeEach, describe, expect, it } from "vitest";
import { storeBatch } from "../ingest/store.ts";
import {
  grown,
  H,
  LATE,
  ON_TIME,
  sample,
  SCENARIO_BOOT_B,
} from "../monitoring-store/interface-scenario.test-support.ts";
import { HOUR_ROLLUP_EVERY_MS, runMaintenance } from "../monitoring-store/maintenance.ts";
import { DEFAULT_MONITORING_SETTINGS } from "../monitoring-store/settings.ts";
import { batch, getJson, useTestApp } from "../test-support.ts";
import type { Batch } from "../wire/batch.ts";

const s = useTestApp();
const MIN = 60_000;

const store = (b: Batch) => storeBatch(s.db, b, b.ts + 500);
const iso = (ms: number) => new Date(ms).toISOString();

/** A point as the API shows it: growth n over `seconds`, and the rates that makes. */
function point(t: number, n: number, seconds: number) {
  const g = grown(n);
  return {
    t: iso(t),
    seconds,
    ...g,
    rxBytesPerSec: g.rxBytes / seconds,
    txBytesPerSec: g.txBytes / seconds,
    rxPacketsPerSec: g.rxPackets / seconds,
    txPacketsPerSec: g.txPackets / seconds,
    dropsPerSec: g.drops / seconds,
  };
}

async function series(query: string) {
  const res = await getJson(s.app, `/api/v1/nodes/node-a/series${query}`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
}

beforeEach(async () => {
  for (const b of [...ON_TIME, LATE]) await store(b);
  s.clock.now = H + 90_000;
});

describe("levels", () => {
  it("raw (the last 5 minutes by default): every report of the node, its interfaces summed, in report time order", async () => {
    const body = await series("");
    expect(body).toMatchObject({
      node: "node-a",
      ifname: null,
      window: { level: "raw", since: iso(H + 90_000 - 5 * MIN), until: iso(H + 90_000) },
    });
    expect(body.points).toEqual([
      point(H + 10_000, 1000, 10),
      point(H + 20_000, 2100, 10),
      point(H + 30_000, 800, 10),
      point(H + 40_000, 300, 10), // the late batch of boot A
      point(H + 70_000, 7000, 10), // boot B's first: its counters since it started
      point(H + 80_000, 2000, 10),
    ]);
  });

  it("one interface: ?ifname=", async () => {
    const body = await series("?ifname=veth1");
    expect(body.ifname).toBe("veth1");
    expect(body.points).toEqual([point(H + 20_000, 100, 10), point(H + 30_000, 300, 10), point(H + 40_000, 0, 10)]);
  });

  it("1m, the same before the rollup (from the history) and after it (from interface_stats), and a batch since then is added once", async () => {
    const expected = [point(H, 4200, 40), point(H + MIN, 9000, 20)];
    const before = await series("?since=3h");
    expect(before.window).toMatchObject({ level: "1m", until: iso(H + 2 * MIN) });
    expect(before.points).toEqual(expected);
    await runMaintenance(s.db, s.clock.now, DEFAULT_MONITORING_SETTINGS);
    expect((await series("?since=3h")).points).toEqual(expected);
    await store(
      batch({
        node: "node-a",
        bootId: SCENARIO_BOOT_B,
        seq: 3,
        ts: H + 90_000,
        interval: 10,
        interfaces: [sample("eth0", 3, 9500)],
      }),
    );
    expect((await series("?since=3h")).points).toEqual([point(H, 4200, 40), point(H + MIN, 9500, 30)]);
    expect((await series("?since=3h&ifname=eth0")).points).toEqual([point(H, 3800, 40), point(H + MIN, 9500, 30)]);
  });

  it("1h, rolled or not", async () => {
    s.clock.now = H + HOUR_ROLLUP_EVERY_MS + 1_000;
    const expected = [point(H, 13_200, 60)];
    expect((await series("?since=3d")).window.level).toBe("1h");
    expect((await series("?since=3d")).points).toEqual(expected);
    await runMaintenance(s.db, s.clock.now, DEFAULT_MONITORING_SETTINGS);
    expect(
      await s.db.$client.execute("SELECT count(*) AS n FROM interface_stats WHERE level = '1h'").then((r) =>
        r.rows[0]!.n
      ),
    ).toBe(3);
    expect((await series("?since=3d")).points).toEqual(expected);
    expect((await series("?since=3d&ifname=veth1")).points).toEqual([point(H, 400, 30)]);
  });

  it("an explicit window: until bounds it", async () => {
    const body = await series(`?since=${iso(H + 15_000)}&until=${iso(H + 40_000)}`);
    expect(body.points.map((p: { t: string }) => p.t)).toEqual([iso(H + 20_000), iso(H + 30_000), iso(H + 40_000)]);
  });
});

describe("errors", () => {
  it("404 for a node that never reported and for an interface the node neither has nor reported", async () => {
    expect((await getJson(s.app, "/api/v1/nodes/node-z/series")).status).toBe(404);
    const res = await getJson(s.app, "/api/v1/nodes/node-a/series?ifname=eth9");
    expect(res).toEqual({ status: 404, body: { error: "interface 'eth9' not found on node 'node-a'" } });
  });

  it("an interface the node has but that reported nothing in the window is an empty series, not an error", async () => {
    const res = await getJson(s.app, `/api/v1/nodes/node-a/series?ifname=eth0&since=${iso(H + 81_000)}`);
    expect(res.status).toBe(200);
    expect(res.body.points).toEqual([]);
  });

  it("400 naming the parameter: a bad time, a bad interface name, an unknown parameter", async () => {
    const bad = await getJson(s.app, "/api/v1/nodes/node-a/series?since=yesterday");
    expect(bad.status).toBe(400);
    expect(bad.body.issues[0].path).toBe("since");
    expect((await getJson(s.app, "/api/v1/nodes/node-a/series?ifname=a%2Fb")).body.issues[0].path).toBe("ifname");
    expect((await getJson(s.app, "/api/v1/nodes/node-a/series?ifnam=eth0")).body.issues[0]).toEqual({
      path: "ifnam",
      message: "unknown field",
    });
    expect((await getJson(s.app, "/api/v1/nodes/Bad_Name/series")).status).toBe(400);
  });
});
