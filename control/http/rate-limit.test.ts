// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { TokenBuckets } from "./rate-limit.ts";

describe("TokenBuckets", () => {
  it("allows a burst, then one request per 1/rate seconds, and says how long to wait", () => {
    const clock = { now: 0 };
    const buckets = new TokenBuckets({ ratePerSec: 2, burst: 3, now: () => clock.now });
    expect([buckets.take("a"), buckets.take("a"), buckets.take("a")]).toEqual([0, 0, 0]);
    expect(buckets.take("a")).toBe(1); // half a second, rounded up to whole seconds
    clock.now = 499;
    expect(buckets.take("a")).toBe(1);
    clock.now = 500;
    expect(buckets.take("a")).toBe(0);
    expect(buckets.take("b")).toBe(0); // keys are independent
  });

  it("never holds more than the burst, however long it was idle", () => {
    const clock = { now: 0 };
    const buckets = new TokenBuckets({ ratePerSec: 1, burst: 2, now: () => clock.now });
    buckets.take("a");
    clock.now = 3_600_000;
    expect([buckets.take("a"), buckets.take("a"), buckets.take("a")]).toEqual([0, 0, 1]);
  });

  it("waitSeconds looks without taking", () => {
    const buckets = new TokenBuckets({ ratePerSec: 0.1, burst: 1, now: () => 0 });
    expect(buckets.waitSeconds("a")).toBe(0);
    expect(buckets.waitSeconds("a")).toBe(0);
    buckets.take("a");
    expect(buckets.waitSeconds("a")).toBe(10);
  });

  it("stays bounded in keys: full buckets are forgotten first, then the oldest", () => {
    const clock = { now: 0 };
    const buckets = new TokenBuckets({ ratePerSec: 1, burst: 1, now: () => clock.now, maxKeys: 3 });
    for (const key of ["a", "b", "c"]) buckets.take(key);
    clock.now = 1_000; // a, b and c are full again
    buckets.take("d");
    buckets.take("d");
    expect(buckets.waitSeconds("d")).toBe(1); // d survived the pruning
    for (const key of ["e", "f", "g"]) buckets.take(key);
    expect((buckets as unknown as { buckets: Map<string, unknown> }).buckets.size).toBeLessThanOrEqual(3);
  });
});
