// SPDX-License-Identifier: Apache-2.0
/** repeatEvery: one run at a time, ticks during a run skipped, errors reported, stop waits for the run. */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { repeatEvery } from "./periodic.ts";

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe("repeatEvery", () => {
  it("skips ticks while a run is going, reports failures and keeps going", async () => {
    const errors: unknown[] = [];
    let runs = 0;
    let finish: (() => void) | undefined;
    const work = () => {
      runs++;
      if (runs === 2) return Promise.reject(new Error("database locked"));
      return new Promise<void>((resolve) => (finish = resolve));
    };
    const periodic = repeatEvery(1_000, work, (err) => errors.push(err));
    await vi.advanceTimersByTimeAsync(3_500); // ticks at 1, 2, 3 s: the first run is still going
    expect(runs).toBe(1);
    finish!();
    await vi.advanceTimersByTimeAsync(1_000); // 4 s: the second run fails
    expect(runs).toBe(2);
    expect(errors).toEqual([new Error("database locked")]);
    await vi.advanceTimersByTimeAsync(1_000); // 5 s: a third, still going at stop
    expect(runs).toBe(3);
    let stopped = false;
    const stopping = periodic.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(5_000);
    expect([stopped, runs]).toEqual([false, 3]);
    finish!();
    await stopping;
    expect(stopped).toBe(true);
  });
});
