// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { rollupBoundaries } from "./ingest-boundary.ts";

const EVERY = 600_000;
const none = { at: [], ms: [] };

describe("rollupBoundaries", () => {
  it("finds each ten-minute boundary inside the posting phase, and the maintenance run after it", () => {
    const from = 5 * EVERY - 100_000, to = 6 * EVERY + 50_000; // two boundaries: 5·EVERY and 6·EVERY
    const found = rollupBoundaries({ accepted: none, refused: none }, { from, to }, [
      5 * EVERY - 30_000,
      5 * EVERY + 30_000,
      5 * EVERY + 90_000,
      6 * EVERY + 40_000,
    ], EVERY);
    expect(found.map((b) => [b.at, b.rollupRunAt])).toEqual([
      [5 * EVERY, 5 * EVERY + 30_000],
      [6 * EVERY, 6 * EVERY + 40_000],
    ]);
  });

  it("has none when the posting phase is shorter than the gap to the next boundary", () => {
    expect(rollupBoundaries({ accepted: none, refused: none }, { from: EVERY + 1, to: 2 * EVERY - 1 }, [], EVERY))
      .toEqual([]);
  });

  it("puts each answer in the minute before the boundary or the minute from the rollup run, by when it went out", () => {
    const b = 3 * EVERY, run = b + 20_000;
    const accepted = {
      at: [b - 61_000, b - 60_000, b - 1, b, run - 1, run, run + 59_999, run + 60_000],
      ms: [1000, 10, 20, 2000, 3000, 30, 40, 4000],
    };
    const refused = { at: [b - 5, run + 5, run + 6, run + 70_000], ms: [1, 1, 1, 1] };
    const [found] = rollupBoundaries({ accepted, refused }, { from: b - 100_000, to: b + 100_000 }, [run], EVERY);
    expect(found).toEqual({
      at: b,
      rollupRunAt: run,
      before: { count: 2, p50: 20, p99: 20, max: 20 },
      after: { count: 2, p50: 40, p99: 40, max: 40 },
      refusedBefore: 1,
      refusedAfter: 2,
    });
  });

  it("without a run after the boundary, the minute after it", () => {
    const b = 2 * EVERY;
    const accepted = { at: [b + 10], ms: [7] };
    const [found] = rollupBoundaries({ accepted, refused: none }, { from: b - 10, to: b + 30_000 }, [b - 5], EVERY);
    expect(found!.rollupRunAt).toBeNull();
    expect(found!.after).toEqual({ count: 1, p50: 7, p99: 7, max: 7 });
  });
});
