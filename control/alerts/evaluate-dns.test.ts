// SPDX-License-Identifier: Apache-2.0
/**
 * Thresholds on DNS (issue 20): NXDOMAIN/s, SERVFAIL/s and latency p95 per node and per pod, from DNS records
 * posted through /api/v1/ingest, with exact values over RATE_WINDOW_MS; alerts fire and resolve as on any metric.
 */
import { asc } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { alerts } from "../db/schema.ts";
import { pod } from "../monitoring/fixtures.test-support.ts";
import { DEFAULT_RETENTION } from "../monitoring/rollup.ts";
import { dnsServer } from "../monitoring-store/dns.test-support.ts";
import { CACHE, DB_POD, post, report, WEB } from "../monitoring/scenario.test-support.ts";
import { batch, postBatch, T0, useTestApp } from "../test-support.ts";
import type { DnsServerRecord } from "../wire/dns.ts";
import { evaluateAlerts } from "./evaluate.ts";
import { type MetricName, ThresholdInput } from "./model.ts";
import { createThreshold } from "./thresholds.ts";
import { readValues } from "./values.ts";

const SETTINGS = { staleAfterMs: 30_000, retention: DEFAULT_RETENTION };
/** The report of the DNS batches; evaluated 1 s later, the window (T0 − 49 s, T0 + 11 s] holds it: 60 s. */
const TS = T0 + 10_000;
const AT = TS + 1_000;

const s = useTestApp();

/** default/web before it was recreated (another uid, the same name): its records count for default/web too. */
const OLD_WEB = pod("u-web0", "web", ["10.0.1.9"]);

const dns = (servers: DnsServerRecord[]) => ({ servers, names: [] });

/**
 * node-a: web (two uids, two servers), cache, and its "other" record; node-b: db with timeouts only, and its
 * "other" record with answers past the last latency bound; node-c: no DNS at all.
 */
async function scenario() {
  await post(s, { node: "node-a", seq: 1, ts: T0, pods: [report(OLD_WEB, 1), report(CACHE, 1)] });
  await post(s, { node: "node-b", seq: 1, ts: T0, pods: [report(DB_POD, 1)] });
  await post(s, {
    node: "node-a",
    seq: 2,
    ts: TS,
    pods: [report(WEB, 1), report(CACHE, 2)],
    dns: dns([
      // 100 answers: 90 within 1 ms, 10 within 10 ms.
      dnsServer({ pod: "u-web", responses: { NOERROR: 64, NXDOMAIN: 30, SERVFAIL: 6 }, latency: { 3: 90, 6: 10 } }),
      dnsServer({ pod: "u-web", server: "10.96.0.11", responses: { SERVFAIL: 6 }, latency: { 3: 6 } }),
      dnsServer({ pod: "u-web0", responses: { NXDOMAIN: 12 }, latency: { 9: 12 } }),
      dnsServer({ pod: "u-cache", responses: { SERVFAIL: 3 }, latency: { 0: 3 } }),
      dnsServer({ server: "0.0.0.0", port: 0, responses: { NXDOMAIN: 6 }, latency: { 12: 6 } }),
    ]),
  });
  await post(s, {
    node: "node-b",
    seq: 2,
    ts: TS,
    pods: [report(DB_POD, 2)],
    dns: dns([
      dnsServer({ pod: "u-db", queries: { A: 5 }, timeouts: 5 }),
      dnsServer({ server: "0.0.0.0", port: 0, responses: { NOERROR: 20 }, latency: { 14: 20 } }),
    ]),
  });
  s.clock.now = TS + 500;
  expect((await postBatch(s.app, batch({ node: "node-c", ts: TS }))).status).toBe(200);
}

async function values(metric: MetricName, kind: "node" | "pod", at = AT) {
  const found = await readValues(s.db, metric, kind, at, SETTINGS);
  return Object.fromEntries([...found].map(([target, v]) => [target, v.value]));
}

const threshold = (input: Record<string, unknown>) => createThreshold(s.db, ThresholdInput.parse(input), T0);
const evaluate = (at: number) => evaluateAlerts(s.db, at, SETTINGS);
const alertRows = () => s.db.select().from(alerts).orderBy(asc(alerts.id));

describe("DNS threshold values", () => {
  it("NXDOMAIN/s and SERVFAIL/s: a node's every row, a pod's every uid, over the last minute per second", async () => {
    await scenario();
    expect(await values("dnsNxdomainPerSec", "node")).toEqual({
      "node-a": (30 + 12 + 6) / 60,
      "node-b": 0,
      "node-c": 0,
    });
    expect(await values("dnsNxdomainPerSec", "pod")).toEqual({
      "default/web": (30 + 12) / 60,
      "default/cache": 0,
      "data/db": 0,
    });
    expect(await values("dnsServfailPerSec", "node")).toEqual({ "node-a": (6 + 6 + 3) / 60, "node-b": 0, "node-c": 0 });
    expect(await values("dnsServfailPerSec", "pod")).toEqual({
      "default/web": 12 / 60,
      "default/cache": 3 / 60,
      "data/db": 0,
    });
    // A minute after the report nothing is counted any more.
    expect(await values("dnsNxdomainPerSec", "node", TS + 60_000)).toEqual({ "node-a": 0, "node-b": 0, "node-c": 0 });
  });

  it("latency p95: the bound of the bucket holding it in the summed histogram; none without answers; the last bound past it", async () => {
    await scenario();
    expect(await values("dnsLatencyP95Ms", "node")).toEqual({
      // 127 answers: the 121st is in the ≤ 100 ms bucket (109 below it, 121 up to it).
      "node-a": 100,
      "node-b": 2_500, // every answer past 2.5 s
      "node-c": null,
    });
    expect(await values("dnsLatencyP95Ms", "pod")).toEqual({
      // web's two uids: 96 ≤ 1 ms, 10 ≤ 10 ms, 12 ≤ 100 ms; the 113th of 118 is in ≤ 100 ms (u-web alone: 10 ms).
      "default/web": 100,
      "default/cache": 0.1,
      "data/db": null, // timeouts only: no answer, no value
    });
  });
});

describe("DNS alerts", () => {
  it("NXDOMAIN/s over an upper limit fires per node and per pod, and resolves once the window has passed", async () => {
    await scenario();
    const nodes = await threshold({ metric: "dnsNxdomainPerSec", scope: { kind: "all" }, upper: 0.5, holdSeconds: 0 });
    const web = await threshold({
      metric: "dnsNxdomainPerSec",
      scope: { kind: "pod", target: "default/web" },
      upper: 0.5,
      holdSeconds: 0,
    });
    expect(await evaluate(AT)).toEqual({ fired: 2, resolved: 0, pending: 0 });
    expect((await alertRows()).map((a) => [a.thresholdId, a.target, a.node, a.bound, a.value])).toEqual([
      [nodes.id, "node-a", "node-a", "upper", 48 / 60],
      [web.id, "default/web", "node-a", "upper", 42 / 60],
    ]);
    expect(await evaluate(TS + 59_999)).toEqual({ fired: 0, resolved: 0, pending: 0 });
    expect(await evaluate(TS + 60_000)).toEqual({ fired: 0, resolved: 2, pending: 0 });
    expect((await alertRows()).map((a) => [a.resolvedAt, a.resolvedReason])).toEqual([
      [TS + 60_000, "recovered"],
      [TS + 60_000, "recovered"],
    ]);
  });

  it("latency p95 over an upper limit fires; no answers neither fires nor holds, even under a lower limit", async () => {
    await scenario();
    await threshold({ metric: "dnsLatencyP95Ms", scope: { kind: "all" }, upper: 1_000, holdSeconds: 0 });
    await threshold({ metric: "dnsLatencyP95Ms", scope: { kind: "all-pods" }, upper: 50, lower: 0.05, holdSeconds: 0 });
    expect(await evaluate(AT)).toEqual({ fired: 2, resolved: 0, pending: 0 });
    expect((await alertRows()).map((a) => [a.metric, a.target, a.value])).toEqual([
      ["dnsLatencyP95Ms", "node-b", 2_500],
      ["dnsLatencyP95Ms", "default/web", 100],
    ]);
    // The answers leave the window: no value, the alerts resolve as no-data.
    expect(await evaluate(TS + 60_000)).toEqual({ fired: 0, resolved: 2, pending: 0 });
    expect((await alertRows()).map((a) => a.resolvedReason)).toEqual(["no-data", "no-data"]);
  });
});
