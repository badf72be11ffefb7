// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { retryDelayMs } from "./backoff.ts";

const S = { retryMinMs: 1_000, retryMaxMs: 300_000 };

describe("notification retry backoff", () => {
  it("doubles from the first wait, with up to half again at random", () => {
    expect([1, 2, 3, 4].map((n) => retryDelayMs(n, S, () => 0))).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(retryDelayMs(3, S, () => 0.999)).toBe(4_000 + 1_998);
  });

  it("is capped, random part included, and stays finite for any count of attempts", () => {
    expect(retryDelayMs(9, S, () => 0)).toBe(256_000);
    expect(retryDelayMs(10, S, () => 0)).toBe(300_000);
    expect(retryDelayMs(9, S, () => 0.999)).toBe(300_000);
    expect(retryDelayMs(100_000, S, () => 0.5)).toBe(300_000);
    expect(retryDelayMs(0, S, () => 0)).toBe(1_000);
  });
});
