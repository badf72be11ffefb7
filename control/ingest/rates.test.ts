// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { NO_RATES, ratesBetween, type TimedCounters } from "./rates.ts";

const sample = (overrides: Partial<TimedCounters> = {}): TimedCounters => ({
  ifindex: 3,
  ts: 10_000,
  rxPackets: 0,
  rxBytes: 0,
  txPackets: 0,
  txBytes: 0,
  drops: 0,
  ...overrides,
});

describe("ratesBetween", () => {
  it("divides each counter's increase by the seconds between reads", () => {
    const prev = sample({ rxPackets: 10, rxBytes: 1_000, txPackets: 4, txBytes: 400 });
    const cur = sample({ ts: 12_500, rxPackets: 35, rxBytes: 6_000, txPackets: 4, txBytes: 1_400 });
    expect(ratesBetween(prev, cur)).toEqual({
      rxPacketsPerSec: 10,
      rxBytesPerSec: 2_000,
      txPacketsPerSec: 0,
      txBytesPerSec: 400,
    });
  });

  it("has no rates without a previous sample", () => {
    expect(ratesBetween(undefined, sample())).toEqual(NO_RATES);
  });

  it.each([
    ["time did not advance", sample({ ts: 10_000, rxBytes: 5 })],
    ["time went back", sample({ ts: 9_000, rxBytes: 5 })],
    ["the ifindex changed", sample({ ts: 11_000, ifindex: 4, rxBytes: 5 })],
    ["a counter went down", sample({ ts: 11_000, rxBytes: 5, txPackets: 0 })],
  ])("has no rates when %s", (_why, cur) => {
    expect(ratesBetween(sample({ txPackets: 1 }), cur)).toEqual(NO_RATES);
  });
});
