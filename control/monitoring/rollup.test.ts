import { describe, expect, it } from "vitest";
import { FLOW_ROWS, type FlowRow } from "./flows.ts";
import { CACHE, DB, WEB } from "./fixtures.test-support.ts";
import {
  bucketOfReport,
  bucketsOfReport,
  type Bucketed,
  DEFAULT_RETENTION,
  expiredBuckets,
  flowRates,
  flowTotal,
  inWindow,
  levelFor,
  rollup,
  topTalkers,
  totalsOver,
  windowOn,
} from "./rollup.ts";

const MIN = 60_000, HOUR = 3_600_000;
const T = 1_700_000_000_000 - (1_700_000_000_000 % HOUR); // an hour boundary

const row = (bucket: number, r: Partial<FlowRow> = {}): Bucketed<FlowRow> => ({
  bucket,
  node: "node-a",
  client: WEB,
  server: DB,
  port: 5432,
  proto: 6,
  fwdPackets: 1,
  fwdBytes: 100,
  revPackets: 2,
  revBytes: 1_000,
  tcpFlags: 0,
  ...r,
});

describe("buckets", () => {
  it("a report at a bucket's end belongs to that bucket, one ms later to the next", () => {
    expect(bucketOfReport("1m", T + MIN)).toBe(T);
    expect(bucketOfReport("1m", T + MIN + 1)).toBe(T + MIN);
    expect(bucketOfReport("1m", T + 1)).toBe(T);
    expect(bucketOfReport("1h", T + HOUR)).toBe(T);
    expect(bucketOfReport("raw", T + 5)).toBe(T + 5);
    expect(bucketsOfReport(T + HOUR + 30_000)).toEqual({ raw: T + HOUR + 30_000, "1m": T + HOUR, "1h": T + HOUR });
  });

  it("raw → 1 min → 1 h: sums per key and bucket, flags OR; the same as raw → 1 h directly", () => {
    const raw = [
      row(T + 10_000, { tcpFlags: 2 }),
      row(T + 60_000, { fwdBytes: 50, tcpFlags: 16 }), // last report of minute 0
      row(T + 60_001, { fwdBytes: 7 }), // first of minute 1
      row(T + 20_000, { server: CACHE, port: 6379 }),
      row(T + HOUR + 1, { fwdBytes: 9 }), // next hour
    ];
    const minutes = rollup(raw, "raw", "1m", FLOW_ROWS);
    expect(minutes.map((r) => [r.bucket - T, r.server.kind === "pod" ? r.server.name : "", r.fwdPackets, r.fwdBytes, r.revBytes, r.tcpFlags])).toEqual([
      [0, "cache", 1, 100, 1_000, 0],
      [0, "db", 2, 150, 2_000, 18],
      [MIN, "db", 1, 7, 1_000, 0],
      [HOUR, "db", 1, 9, 1_000, 0],
    ]);
    const hours = rollup(minutes, "1m", "1h", FLOW_ROWS);
    expect(hours.map((r) => [r.bucket - T, r.port, r.fwdPackets, r.fwdBytes, r.revBytes])).toEqual([
      [0, 6379, 1, 100, 1_000],
      [0, 5432, 3, 157, 3_000],
      [HOUR, 5432, 1, 9, 1_000],
    ]);
    expect(rollup(raw, "raw", "1h", FLOW_ROWS)).toEqual(hours);
    expect(() => rollup(hours, "1h", "1m", FLOW_ROWS)).toThrow("cannot roll 1h up into 1m");
  });
});

describe("retention", () => {
  it("deletes only buckets entirely older than the window", () => {
    const now = T + 100 * HOUR;
    const cut = expiredBuckets(now);
    expect(cut).toEqual({ raw: now - 2 * HOUR, "1m": now - 48 * HOUR - MIN, "1h": now - 30 * 24 * HOUR - HOUR });
    // A minute bucket ending exactly at now − 48 h goes; the next one (ending 1 min later) stays.
    expect(now - 48 * HOUR - MIN <= cut["1m"]).toBe(true);
    expect(now - 48 * HOUR - MIN + MIN <= cut["1m"]).toBe(false);
    expect(expiredBuckets(now, { ...DEFAULT_RETENTION, raw: 10 * MIN }).raw).toBe(now - 10 * MIN);
  });

  it("queries use the finest level still holding the start of the window", () => {
    const now = T + 100 * HOUR;
    expect(levelFor(now - 2 * HOUR, now)).toBe("raw");
    expect(levelFor(now - 2 * HOUR - 1, now)).toBe("1m");
    expect(levelFor(now - 48 * HOUR, now)).toBe("1m");
    expect(levelFor(now - 49 * HOUR, now)).toBe("1h");
    expect(levelFor(now - 90 * 24 * HOUR, now)).toBe("1h");
  });
});

describe("windows, totals and rates", () => {
  it("raw: reports in (since, until], rates over the exact span", () => {
    const w = windowOn("raw", T, T + 10_000);
    expect(w).toEqual({ level: "raw", from: T, to: T + 10_000, seconds: 10 });
    expect([T, T + 1, T + 10_000, T + 10_001].map((b) => inWindow(b, w))).toEqual([false, true, true, false]);
    const rows = [row(T), row(T + 5_000), row(T + 10_000, { fwdBytes: 400 })];
    const [total] = totalsOver(rows, w, FLOW_ROWS);
    expect(total).toEqual({ ...row(0, { fwdPackets: 2, fwdBytes: 500, revPackets: 4, revBytes: 2_000 }), bucket: undefined });
    expect(flowRates(total, w.seconds)).toEqual({ fwdPacketsPerSec: 0.2, fwdBytesPerSec: 50, revPacketsPerSec: 0.4, revBytesPerSec: 200 });
  });

  it("1 min: widened to whole buckets; the current bucket counts up to now", () => {
    const w = windowOn("1m", T + 30_000, T + 150_000);
    expect(w).toEqual({ level: "1m", from: T, to: T + 3 * MIN, seconds: 150 });
    expect([T - MIN, T, T + 2 * MIN, T + 3 * MIN].map((b) => inWindow(b, w))).toEqual([false, true, true, false]);
    // A past window ending mid-bucket covers the whole bucket.
    expect(windowOn("1m", T, T + 90_000, T + HOUR).seconds).toBe(120);
    expect(flowRates(flowTotal([row(T)]), 0)).toBeNull();
  });

  it("totals sum over buckets and nodes of the same key", () => {
    const rows = [row(T), row(T + MIN, { node: "node-b", fwdBytes: 1 }), row(T + 2 * MIN)];
    const totals = totalsOver(rows, windowOn("1m", T, T + 2 * MIN), FLOW_ROWS);
    expect(totals.map((t) => [t.node, t.fwdBytes, t.revBytes])).toEqual([
      ["node-a", 100, 1_000],
      ["node-b", 1, 1_000],
    ]);
    expect(flowTotal(totals)).toEqual({ fwdPackets: 2, fwdBytes: 101, revPackets: 4, revBytes: 2_000, tcpFlags: 0 });
  });
});

describe("topTalkers", () => {
  const world = { kind: "world", ip: "8.8.8.8" } as const;
  const rows = [
    row(0, { fwdBytes: 100, revBytes: 900 }), // web→db 1000
    row(0, { port: 5433, fwdBytes: 500, revBytes: 0 }), // web→db 500, another port
    row(0, { server: CACHE, fwdBytes: 1_200, revBytes: 0 }), // web→cache 1200
    row(0, { client: DB, server: world, fwdBytes: 50, revBytes: 50 }), // db→world 100
  ];

  it("pairs over all ports, by bytes both ways", () => {
    expect(topTalkers(rows, 2, "pairs").map((t) => [t.key, t.bytes, t.packets])).toEqual([
      ["pod:u-web→pod:u-db", 1_500, 6],
      ["pod:u-web→pod:u-cache", 1_200, 3],
    ]);
  });

  it("pods, each with what it sent and received; the world is not a pod", () => {
    expect(topTalkers(rows, 10, "pods").map((t) => [t.key, t.bytes])).toEqual([
      ["pod:u-web", 2_700],
      ["pod:u-db", 1_600],
      ["pod:u-cache", 1_200],
    ]);
    expect(topTalkers(rows, 0, "pods")).toEqual([]);
  });
});
