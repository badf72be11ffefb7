// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import {
  formatAgo,
  formatByteRate,
  formatBytes,
  formatCount,
  formatCountOf,
  formatNanos,
  formatPacketRate,
  formatPercent,
  formatSpan,
  MISSING,
} from "./format.ts";

describe("formatBytes", () => {
  it.each([
    [0, "0 B"],
    [512, "512 B"],
    [1023, "1023 B"],
    [1024, "1.00 KiB"],
    [1536, "1.50 KiB"],
    [10 * 1024 + 256, "10.3 KiB"],
    [512 * 1024, "512 KiB"],
    [5 * 1024 ** 2, "5.00 MiB"],
    [3.25 * 1024 ** 3, "3.25 GiB"],
    [2 * 1024 ** 4, "2.00 TiB"],
    [2048 * 1024 ** 5, "2048 PiB"],
  ])("%d → %s", (bytes, text) => {
    expect(formatBytes(bytes)).toBe(text);
  });
});

describe("rates", () => {
  it("bytes per second", () => {
    expect(formatByteRate(0)).toBe("0 B/s");
    expect(formatByteRate(12.5)).toBe("12.5 B/s");
    expect(formatByteRate(2_000)).toBe("1.95 KiB/s");
    expect(formatByteRate(125 * 1024 ** 2)).toBe("125 MiB/s");
  });

  it("packets per second", () => {
    expect(formatPacketRate(0)).toBe("0 pps");
    expect(formatPacketRate(0.5)).toBe("0.50 pps");
    expect(formatPacketRate(999)).toBe("999 pps");
    expect(formatPacketRate(1_200)).toBe("1.20 kpps");
    expect(formatPacketRate(14_880_000)).toBe("14.9 Mpps");
  });

  it("a missing rate is a dash, not zero", () => {
    expect(formatByteRate(null)).toBe(MISSING);
    expect(formatPacketRate(null)).toBe(MISSING);
  });
});

describe("formatCount", () => {
  it("groups thousands", () => {
    expect(formatCount(0)).toBe("0");
    expect(formatCount(1_234_567)).toBe("1,234,567");
  });
});

describe("formatAgo", () => {
  it.each([
    [0, "just now"],
    [5, "5 s ago"],
    [59, "59 s ago"],
    [60, "1 min ago"],
    [3_599, "59 min ago"],
    [7_200, "2 h ago"],
    [3 * 86_400, "3 d ago"],
  ])("%d s → %s", (seconds, text) => {
    expect(formatAgo(seconds)).toBe(text);
  });
});

describe("formatCountOf", () => {
  it("puts the noun in the plural unless the count is one", () => {
    expect(formatCountOf(1, "pod")).toBe("1 pod");
    expect(formatCountOf(0, "pod")).toBe("0 pods");
    expect(formatCountOf(2_048, "reply", "replies")).toBe("2,048 replies");
  });
});

describe("formatSpan", () => {
  it.each([
    [42, "42 s"],
    [300, "5 min"],
    [5_400, "1 h"],
    [2 * 86_400 + 5, "2 d"],
  ])("%d s → %s", (seconds, text) => {
    expect(formatSpan(seconds)).toBe(text);
  });
});

describe("formatNanos", () => {
  it.each([
    [0, "0 ns"],
    [85, "85 ns"],
    [1_234, "1.23 µs"],
    [4_500_000, "4.50 ms"],
    [12_000_000_000, "12.0 s"],
    [90_000_000_000_000, "90000 s"],
  ])("%d ns → %s", (ns, text) => {
    expect(formatNanos(ns)).toBe(text);
  });
});

describe("formatPercent", () => {
  it.each([
    [0, 100, "0 %"],
    [1, 256, "0.4 %"],
    [37, 100, "37 %"],
    [65_536, 65_536, "100 %"],
    [5, 0, MISSING],
  ])("%d of %d → %s", (part, whole, text) => {
    expect(formatPercent(part, whole)).toBe(text);
  });
});
