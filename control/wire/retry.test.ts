// SPDX-License-Identifier: Apache-2.0
/** The wait after a Retry-After: never shorter than asked, spread over half as much again. */
import { describe, expect, it } from "vitest";
import { jitteredRetryMs, RETRY_JITTER } from "./retry.ts";

describe("jitteredRetryMs", () => {
  it("waits at least the Retry-After and at most half as much again", () => {
    expect(jitteredRetryMs(2000, () => 0)).toBe(2000);
    expect(jitteredRetryMs(2000, () => 0.5)).toBe(2500);
    expect(jitteredRetryMs(2000, () => 0.999_999)).toBe(2000 + 2000 * RETRY_JITTER - 1);
  });

  it("spreads a fleet refused at once over the whole range", () => {
    const waits = Array.from({ length: 1000 }, () => jitteredRetryMs(1000));
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...waits)).toBeLessThan(1500);
    // A thousand draws land in every tenth of the range (a fixed wait would fill one).
    expect(new Set(waits.map((w) => Math.floor((w - 1000) / 50))).size).toBe(10);
  });
});
