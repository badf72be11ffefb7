// SPDX-License-Identifier: Apache-2.0
/**
 * Alert evaluation with exact values and times: batches posted through
 * /api/v1/ingest at pinned control-plane times, thresholds stored, then
 * evaluateAlerts at chosen instants; the alerts and holds read back from
 * the database.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { asc } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { type Db, openDb } from "../db/client.ts";
import { alertPending, alerts } from "../db/schema.ts";
import { drop, tcp } from "../monitoring/fixtures.test-support.ts";
import { DEFAULT_RETENTION } from "../monitoring/rollup.ts";
import { CACHE, DB_POD, post, report, WEB } from "../monitoring/scenario.test-support.ts";
import { batch, iface, postBatch, T0, testApp, type TestContext, useTestApp } from "../test-support.ts";
import { evaluateAlerts } from "./evaluate.ts";
import { ThresholdInput } from "./model.ts";
import { createThreshold } from "./thresholds.ts";

const SETTINGS = { staleAfterMs: 30_000, retention: DEFAULT_RETENTION };

const s = useTestApp();

const threshold = (db: Db, input: Record<string, unknown>) => createThreshold(db, ThresholdInput.parse(input), T0);
const evaluate = (at: number, db: Db = s.db) => evaluateAlerts(db, at, SETTINGS);
const alertRows = (db: Db = s.db) => db.select().from(alerts).orderBy(asc(alerts.id));
const pendingRows = (db: Db = s.db) => db.select().from(alertPending);

/** A batch every 10 s (agent clock T0 + 10 s × (seq − 1)) whose veth0 has counted `rx` and `tx` bytes so far. */
function traffic(ctx: Pick<TestContext, "app" | "clock">, node: string, seq: number, rx: number, tx = 0) {
  const ts = T0 + 10_000 * (seq - 1);
  ctx.clock.now = ts + 500;
  return postBatch(ctx.app, batch({ node, seq, ts, interfaces: [iface({ rxBytes: rx, txBytes: tx })] }));
}

describe("upper limit on a node's RX", () => {
  it("holds, fires after holdSeconds with value, peak and trough, resolves by itself, and keeps the history", async () => {
    await traffic(s, "node-a", 1, 0);
    await traffic(s, "node-a", 2, 100_000); // 10,000 B/s
    const t = await threshold(s.db, {
      metric: "rxBytesPerSec",
      scope: { kind: "node", target: "node-a" },
      upper: 5_000,
      holdSeconds: 20,
    });

    expect(await evaluate(T0 + 11_000)).toEqual({ fired: 0, resolved: 0, pending: 1 });
    expect(await pendingRows()).toEqual([{
      thresholdId: t.id,
      target: "node-a",
      since: T0 + 11_000,
      peak: 10_000,
      trough: 10_000,
      lastValue: 10_000,
    }]);

    await traffic(s, "node-a", 3, 250_000); // 15,000 B/s
    expect(await evaluate(T0 + 30_999)).toEqual({ fired: 0, resolved: 0, pending: 1 }); // 19.999 s out: not yet

    await traffic(s, "node-a", 4, 330_000); // 8,000 B/s
    expect(await evaluate(T0 + 31_000)).toEqual({ fired: 1, resolved: 0, pending: 0 });
    expect(await pendingRows()).toEqual([]);
    const [fired] = await alertRows();
    expect(fired).toMatchObject({
      thresholdId: t.id,
      metric: "rxBytesPerSec",
      scopeKind: "node",
      target: "node-a",
      node: "node-a",
      bound: "upper",
      upper: 5_000,
      lower: null,
      holdSeconds: 20,
      breachedSince: T0 + 11_000,
      firedAt: T0 + 31_000,
      value: 8_000,
      peak: 15_000,
      trough: 8_000,
      lastValue: 8_000,
      resolvedAt: null,
    });

    // Still out: the alert follows the value, and fires no second time.
    await traffic(s, "node-a", 5, 530_000); // 20,000 B/s
    expect(await evaluate(T0 + 41_000)).toEqual({ fired: 0, resolved: 0, pending: 0 });
    expect(await alertRows()).toEqual([{ ...fired, peak: 20_000, lastValue: 20_000 }]);

    await traffic(s, "node-a", 6, 550_000); // 2,000 B/s: back within
    expect(await evaluate(T0 + 51_000)).toEqual({ fired: 0, resolved: 1, pending: 0 });
    expect(await alertRows()).toEqual([{
      ...fired,
      peak: 20_000,
      lastValue: 20_000,
      resolvedAt: T0 + 51_000,
      resolvedReason: "recovered",
    }]);
    expect(await evaluate(T0 + 56_000)).toEqual({ fired: 0, resolved: 0, pending: 0 });
    // Kept as long as the 1 h statistics, then gone.
    await evaluate(T0 + 51_000 + DEFAULT_RETENTION["1h"]);
    expect(await alertRows()).toHaveLength(1);
    await evaluate(T0 + 51_001 + DEFAULT_RETENTION["1h"]);
    expect(await alertRows()).toEqual([]);
  });

  it("a value back within the limits for one evaluation starts the hold again", async () => {
    await traffic(s, "node-a", 1, 0);
    await traffic(s, "node-a", 2, 100_000); // 10,000 B/s
    await threshold(s.db, {
      metric: "rxBytesPerSec",
      scope: { kind: "node", target: "node-a" },
      upper: 5_000,
      holdSeconds: 15,
    });
    await evaluate(T0 + 11_000);
    await traffic(s, "node-a", 3, 110_000); // 1,000 B/s
    expect(await evaluate(T0 + 21_000)).toEqual({ fired: 0, resolved: 0, pending: 0 });
    await traffic(s, "node-a", 4, 210_000); // 10,000 B/s
    await evaluate(T0 + 31_000);
    expect((await pendingRows())[0]!.since).toBe(T0 + 31_000);
    expect(await evaluate(T0 + 40_000)).toEqual({ fired: 0, resolved: 0, pending: 1 }); // 9 s since the hold restarted
    expect(await evaluate(T0 + 46_000)).toMatchObject({ fired: 1 });
  });

  it("two evaluations at once fire one alert", async () => {
    await traffic(s, "node-a", 1, 0);
    await traffic(s, "node-a", 2, 100_000);
    await threshold(s.db, { metric: "rxBytesPerSec", scope: { kind: "all" }, upper: 5_000, holdSeconds: 0 });
    const results = await Promise.all([evaluate(T0 + 11_000), evaluate(T0 + 11_000)]);
    expect(results.map((r) => r.fired).sort()).toEqual([0, 1]);
    expect(await alertRows()).toHaveLength(1);
  });
});

describe("lower limit", () => {
  it("fires at once with a hold of 0 and resolves when the value is back above", async () => {
    await traffic(s, "node-a", 1, 0, 0);
    await traffic(s, "node-a", 2, 0, 5_000); // TX 500 B/s
    await threshold(s.db, { metric: "txBytesPerSec", scope: { kind: "all" }, lower: 1_000, holdSeconds: 0 });
    expect(await evaluate(T0 + 11_000)).toEqual({ fired: 1, resolved: 0, pending: 0 });
    expect((await alertRows())[0]).toMatchObject({
      bound: "lower",
      value: 500,
      trough: 500,
      breachedSince: T0 + 11_000,
      firedAt: T0 + 11_000,
    });
    await traffic(s, "node-a", 3, 0, 25_000); // 2,000 B/s
    expect(await evaluate(T0 + 21_000)).toEqual({ fired: 0, resolved: 1, pending: 0 });
  });

  it("a host gone silent: its traffic counts as 0 once its rates are older than EBPF_K8S_STALE_AFTER", async () => {
    await traffic(s, "node-a", 1, 0);
    await traffic(s, "node-a", 2, 100_000); // received at T0 + 10.5 s
    await threshold(s.db, {
      metric: "rxBytesPerSec",
      scope: { kind: "node", target: "node-a" },
      lower: 100,
      holdSeconds: 10,
    });
    expect(await evaluate(T0 + 40_499)).toEqual({ fired: 0, resolved: 0, pending: 0 }); // 29.999 s old: still current
    expect(await evaluate(T0 + 40_500)).toEqual({ fired: 0, resolved: 0, pending: 1 });
    expect(await evaluate(T0 + 50_500)).toEqual({ fired: 1, resolved: 0, pending: 0 });
    expect((await alertRows())[0]).toMatchObject({ value: 0, bound: "lower", breachedSince: T0 + 40_500 });
  });

  it("no rate yet (the first report of a boot) is no value: nothing holds or fires", async () => {
    await traffic(s, "node-a", 1, 0);
    await threshold(s.db, { metric: "rxBytesPerSec", scope: { kind: "all" }, lower: 100, holdSeconds: 0 });
    expect(await evaluate(T0 + 1_000)).toEqual({ fired: 0, resolved: 0, pending: 0 });
  });
});

describe("heartbeat age", () => {
  it("fires for a silent node when its age passes the upper limit, and resolves when it reports again", async () => {
    await traffic(s, "node-a", 1, 0); // received at T0 + 0.5 s
    await traffic(s, "node-b", 1, 0);
    await threshold(s.db, { metric: "heartbeatAgeSeconds", scope: { kind: "all" }, upper: 60, holdSeconds: 0 });
    await traffic(s, "node-b", 7, 0); // node-b keeps reporting: received at T0 + 60.5 s
    expect(await evaluate(T0 + 60_500)).toEqual({ fired: 0, resolved: 0, pending: 0 }); // exactly 60 s: not above
    expect(await evaluate(T0 + 61_500)).toEqual({ fired: 1, resolved: 0, pending: 0 });
    expect(await alertRows()).toEqual([
      expect.objectContaining({ target: "node-a", node: "node-a", value: 61, bound: "upper" }),
    ]);
    await evaluate(T0 + 90_500);
    expect((await alertRows())[0]).toMatchObject({ peak: 90, lastValue: 90, resolvedAt: null });
    await traffic(s, "node-a", 10, 0); // received at T0 + 90.5 s
    expect(await evaluate(T0 + 91_000)).toEqual({ fired: 0, resolved: 1, pending: 0 });
  });
});

describe("scopes", () => {
  async function twoNodes() {
    await traffic(s, "node-a", 1, 0);
    await traffic(s, "node-b", 1, 0);
    await traffic(s, "node-a", 2, 10_000); // 1,000 B/s
    await traffic(s, "node-b", 2, 100_000); // 10,000 B/s
  }

  it("all: every node, each on its own", async () => {
    await twoNodes();
    await threshold(s.db, {
      metric: "rxBytesPerSec",
      scope: { kind: "all" },
      upper: 5_000,
      lower: 500,
      holdSeconds: 0,
    });
    await evaluate(T0 + 11_000);
    expect((await alertRows()).map((a) => [a.target, a.value])).toEqual([["node-b", 10_000]]);
  });

  it("node: that node only; a node that never reported has no value", async () => {
    await twoNodes();
    await threshold(s.db, {
      metric: "rxBytesPerSec",
      scope: { kind: "node", target: "node-a" },
      upper: 500,
      holdSeconds: 0,
    });
    await threshold(s.db, {
      metric: "rxBytesPerSec",
      scope: { kind: "node", target: "node-z" },
      lower: 500,
      holdSeconds: 0,
    });
    await evaluate(T0 + 11_000);
    expect((await alertRows()).map((a) => [a.target, a.value])).toEqual([["node-a", 1_000]]);
  });

  it("pod and all-pods: a pod's own rates; a pod that vanished resolves as no-data", async () => {
    // Each pod received 10,000 B more per report, 10 s apart: 1,000 B/s.
    await post(s, { node: "node-a", seq: 1, ts: T0, pods: [report(WEB, 1), report(CACHE, 1)] });
    await post(s, { node: "node-b", seq: 1, ts: T0, pods: [report(DB_POD, 1)] });
    await post(s, { node: "node-a", seq: 2, ts: T0 + 10_000, pods: [report(WEB, 2), report(CACHE, 2)] });
    await post(s, { node: "node-b", seq: 2, ts: T0 + 10_000, pods: [report(DB_POD, 2)] });
    const one = await threshold(s.db, {
      metric: "rxBytesPerSec",
      scope: { kind: "pod", target: "default/web" },
      upper: 500,
      holdSeconds: 0,
    });
    const every = await threshold(s.db, {
      metric: "rxBytesPerSec",
      scope: { kind: "all-pods" },
      upper: 500,
      holdSeconds: 0,
    });
    expect(await evaluate(T0 + 11_000)).toEqual({ fired: 4, resolved: 0, pending: 0 });
    const fired = (await alertRows()).map((a) => [a.thresholdId, a.target, a.node, a.value]);
    expect(
      fired.sort((x, y) => (x[0] === y[0] ? 0 : x[0] === one.id ? -1 : 1) || String(x[1]).localeCompare(String(y[1]))),
    ).toEqual([
      [one.id, "default/web", "node-a", 1_000],
      [every.id, "data/db", "node-b", 1_000],
      [every.id, "default/cache", "node-a", 1_000],
      [every.id, "default/web", "node-a", 1_000],
    ]);
    await post(s, { node: "node-a", seq: 3, ts: T0 + 20_000, pods: [report(WEB, 3)] }); // cache vanished
    expect(await evaluate(T0 + 21_000)).toEqual({ fired: 0, resolved: 1, pending: 0 });
    expect((await alertRows()).filter((a) => a.resolvedAt !== null)).toEqual([
      expect.objectContaining({ target: "default/cache", resolvedReason: "no-data", resolvedAt: T0 + 21_000 }),
    ]);
  });

  it("drops, retransmits and failed connections: counts over the last minute per second, per node and per pod", async () => {
    await post(s, { node: "node-a", seq: 1, ts: T0, pods: [report(WEB, 1)] });
    await post(s, { node: "node-b", seq: 1, ts: T0, pods: [report(DB_POD, 1)] });
    await post(s, {
      node: "node-a",
      seq: 2,
      ts: T0 + 10_000,
      pods: [report(WEB, 2)],
      tcp: [tcp({ retransmits: 12, failedRefused: 3, failedTimeout: 2, failedOther: 1 })],
      drops: [drop({ pod: "u-web", ifname: "veth-web", packets: 30 }), drop({ reason: "NO_SOCKET", packets: 6 })],
    });
    const all = { scope: { kind: "all" }, upper: 0.01, holdSeconds: 0 };
    const web = { scope: { kind: "pod", target: "default/web" }, upper: 0.01, holdSeconds: 0 };
    for (const metric of ["dropsPerSec", "retransmitsPerSec", "failedConnectionsPerSec"]) {
      await threshold(s.db, { metric, ...all });
      await threshold(s.db, { metric, ...web });
    }
    expect(await evaluate(T0 + 11_000)).toEqual({ fired: 6, resolved: 0, pending: 0 });
    const fired = (await alertRows()).map((a) => [a.metric, a.target, a.value]);
    expect(fired).toEqual([
      ["dropsPerSec", "node-a", 36 / 60], // the node's own and web's
      ["dropsPerSec", "default/web", 30 / 60],
      ["retransmitsPerSec", "node-a", 12 / 60],
      ["retransmitsPerSec", "default/web", 12 / 60],
      ["failedConnectionsPerSec", "node-a", 6 / 60],
      ["failedConnectionsPerSec", "default/web", 6 / 60],
    ]);
    // A minute after the batch (report time T0 + 10 s) nothing is counted any more: all resolve.
    expect(await evaluate(T0 + 69_999)).toEqual({ fired: 0, resolved: 0, pending: 0 });
    expect(await evaluate(T0 + 70_000)).toEqual({ fired: 0, resolved: 6, pending: 0 });
  });
});

describe("restart", () => {
  it("a hold begun before a restart continues after it, and an alert fires once", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ebpf-k8s-alerts-"));
    const url = `file:${join(dir, "test.db")}`;
    try {
      const first = await openDb(url);
      const ctx = testApp(first);
      await traffic(ctx, "node-a", 1, 0);
      await traffic(ctx, "node-a", 2, 100_000);
      await threshold(first, { metric: "rxBytesPerSec", scope: { kind: "all" }, upper: 5_000, holdSeconds: 25 });
      expect(await evaluate(T0 + 11_000, first)).toEqual({ fired: 0, resolved: 0, pending: 1 });
      first.$client.close();

      const second = await openDb(url);
      expect(await evaluate(T0 + 30_000, second)).toEqual({ fired: 0, resolved: 0, pending: 1 });
      expect(await evaluate(T0 + 36_000, second)).toEqual({ fired: 1, resolved: 0, pending: 0 });
      second.$client.close();

      const third = await openDb(url);
      expect(await evaluate(T0 + 37_000, third)).toEqual({ fired: 0, resolved: 0, pending: 0 });
      expect(await alertRows(third)).toEqual([
        expect.objectContaining({ breachedSince: T0 + 11_000, firedAt: T0 + 36_000, resolvedAt: null }),
      ]);
      third.$client.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
