// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import type { FlowRow } from "./flows.ts";
import { CACHE, DB, WEB } from "./fixtures.test-support.ts";
import { bucketOfReport, DEFAULT_RETENTION, expiredBuckets, levelFor, topTalkers, windowOn } from "./rollup.ts";

const MIN = 60_000, HOUR = 3_600_000;
const T = 1_700_000_000_000 - (1_700_000_000_000 % HOUR); // an hour boundary

const row = (r: Partial<FlowRow> = {}): FlowRow => ({
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

describe("windows", () => {
  it("raw: reports in (since, until], over the exact span", () => {
    expect(windowOn("raw", T, T + 10_000)).toEqual({ level: "raw", from: T, to: T + 10_000, seconds: 10 });
  });

  it("1 min: widened to whole buckets; the current bucket counts up to now", () => {
    expect(windowOn("1m", T + 30_000, T + 150_000)).toEqual({ level: "1m", from: T, to: T + 3 * MIN, seconds: 150 });
    // A past window ending mid-bucket covers the whole bucket.
    expect(windowOn("1m", T, T + 90_000, T + HOUR).seconds).toBe(120);
  });
});

describe("topTalkers", () => {
  const world = { kind: "world", ip: "8.8.8.8" } as const;
  const rows = [
    row({ fwdBytes: 100, revBytes: 900 }), // web→db 1000
    row({ port: 5433, fwdBytes: 500, revBytes: 0 }), // web→db 500, another port
    row({ server: CACHE, fwdBytes: 1_200, revBytes: 0 }), // web→cache 1200
    row({ client: DB, server: world, fwdBytes: 50, revBytes: 50 }), // db→world 100
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
