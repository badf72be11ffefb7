// SPDX-License-Identifier: Apache-2.0
/**
 * The stored levels agree: over the same window, raw rows, 1 min buckets and
 * 1 h buckets give the same flows, TCP rows and drops, with batches on
 * bucket boundaries, before the rollup (unrolled raw rows counted in) and after it.
 */
import { describe, expect, it } from "vitest";
import { DEFAULT_MONITORING_SETTINGS } from "../../monitoring-store/settings.ts";
import { runMaintenance } from "../../monitoring-store/maintenance.ts";
import { drop, flow, pod, tcp } from "../../monitoring/fixtures.test-support.ts";
import { type Level, type Window, windowOn, withHourParts } from "../../monitoring/rollup.ts";
import { batch, postBatch, useTestApp } from "../../test-support.ts";
import { queryDrops } from "./drops.ts";
import { queryFlows } from "./flows.ts";
import { queryTcp } from "./tcp.ts";

const s = useTestApp();

const HOUR = 3_600_000;
/** An hour boundary; the window is the two hours after it. */
const H = 472_223 * HOUR;
const UNTIL = H + 2 * HOUR;

const counters = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, drops: 0 };
const PODS = {
  "node-a": [{ ...pod("u-web", "web", ["10.0.1.2"]), ...counters }],
  "node-b": [{ ...pod("u-db", "db", ["10.0.2.2"], { namespace: "data" }), ...counters }],
};

/** Report times: on the window's edges, on minute boundaries, and in between; one before the window. */
const TIMES = [
  H,
  H + 1,
  H + 60_000,
  H + 60_001,
  H + 59 * 60_000 + 30_000,
  H + HOUR,
  H + HOUR + 1,
  H + HOUR + 45 * 60_000,
  UNTIL,
];

async function store() {
  let seq = 0;
  for (const [i, ts] of TIMES.entries()) {
    seq++;
    const n = i + 1;
    for (const node of ["node-a", "node-b"] as const) {
      s.clock.now = ts + 100;
      const mine = node === "node-a";
      const res = await postBatch(
        s.app,
        batch({
          node,
          seq,
          ts,
          pods: PODS[node],
          flows: mine
            ? [
              flow({ packets: n, bytes: 100 * n, tcpFlags: 1 << (i % 8) }),
              flow({ dst: "1.1.1.1", port: 53, proto: 17, packets: 1, bytes: 60 + n }),
            ]
            : [flow({ src: "10.0.2.2", dst: "10.0.1.2", toServer: false, packets: 2 * n, bytes: 1_000 * n })],
          tcp: mine
            ? [
              tcp({
                opened: n,
                closed: n - 1,
                durationMs: 10 * n,
                srttUsSum: 500 * n,
                srttSamples: n,
                failedTimeout: i % 2,
              }),
            ]
            : [tcp({ pod: "u-db", local: "10.0.2.2", remote: "10.0.1.2", role: "server", opened: n, resetsRx: i % 3 })],
          drops: [
            drop({ pod: mine ? "u-web" : "u-db", packets: n, bytes: 60 * n }),
            // The same key split by service, on some batches only: rows per service and the rest.
            drop({ pod: mine ? "u-web" : "u-db", service: "data/db", packets: 2 * n, bytes: 30 * n }),
            ...(i % 2 ? [drop({ pod: mine ? "u-web" : "u-db", service: "shop/api", packets: 1, bytes: 10 })] : []),
            drop({ reason: "NO_SOCKET", packets: 1, bytes: 40 }),
          ],
        }),
      );
      expect(res.status).toBe(200);
    }
  }
}

async function everything(level: Level | Window) {
  const w = typeof level === "string" ? windowOn(level, H, UNTIL, UNTIL + 1) : level;
  const filters = [{}, { node: "node-b" }, { pod: ["pod:u-db"] }];
  const out = [];
  for (const f of filters) {
    const flows = await queryFlows(s.db, w, f, 100);
    const tcpRows = await queryTcp(s.db, w, f, 100);
    out.push({ flows, tcp: tcpRows, drops: await queryDrops(s.db, w, f) });
  }
  return { filtered: out, apiDrops: await queryDrops(s.db, w, { service: "svc:shop/api" }) };
}

describe("stored levels", () => {
  it("raw, 1m and 1h agree over the same window, before and after the rollup", async () => {
    await store();
    const raw = await everything("raw");
    // Sanity: the window holds every batch but the one at H (exclusive), both ways.
    const total = raw.filtered[0]!.flows.totals;
    const ns = TIMES.slice(1).map((_, i) => i + 2);
    const sum = (f: (n: number) => number) => ns.reduce((a, n) => a + f(n), 0);
    expect(total).toEqual({ packets: sum((n) => n + 1 + 2 * n), bytes: sum((n) => 100 * n + 60 + n + 1_000 * n) });
    // shop/api's drops: one packet per node on each odd batch in the window.
    expect(raw.apiDrops.byReason).toEqual([{ reason: "NETFILTER_DROP", packets: 8, bytes: 80 }]);

    expect(await everything("1m")).toEqual(raw);
    expect(await everything("1h")).toEqual(raw);

    // Raw rows kept long enough that the raw level still holds the whole window.
    const retention = { ...DEFAULT_MONITORING_SETTINGS.retention, raw: 24 * HOUR };
    await runMaintenance(s.db, UNTIL + 1, { ...DEFAULT_MONITORING_SETTINGS, retention });
    const unrolled = await s.db.$client.execute("SELECT count(*) AS n FROM monitoring_raw WHERE rolled != 3");
    expect(Number(unrolled.rows[0]!.n)).toBe(0);
    expect(await everything("raw")).toEqual(raw);
    expect(await everything("1m")).toEqual(raw);
    expect(await everything("1h")).toEqual(raw);
  });

  it("a 1m window reading its whole hours from 1h gives what the minutes give, before and after the rollup", async () => {
    await store();
    const [since, until] = [H - 30 * 60_000, UNTIL + 30 * 60_000];
    const minutes = windowOn("1m", since, until, until);
    const mixed = withHourParts(minutes, until);
    expect(mixed.parts).toEqual([
      { level: "1m", from: since, to: H },
      { level: "1h", from: H, to: UNTIL },
      { level: "1m", from: UNTIL, to: until },
    ]);
    const expected = await everything(windowOn("raw", since, until));
    expect(await everything(minutes)).toEqual(expected);
    expect(await everything(mixed)).toEqual(expected);
    await runMaintenance(s.db, until + 1, {
      ...DEFAULT_MONITORING_SETTINGS,
      retention: { ...DEFAULT_MONITORING_SETTINGS.retention, raw: 24 * HOUR },
    });
    expect(await everything(mixed)).toEqual(expected);
    // Not when the hours are gone from 1h, nor for a window without a whole hour.
    expect(withHourParts(minutes, until, { ...DEFAULT_MONITORING_SETTINGS.retention, "1h": HOUR }).parts)
      .toBeUndefined();
    expect(withHourParts(windowOn("1m", H + 60_000, H + HOUR + 60_000), H + HOUR).parts).toBeUndefined();
  });
});
