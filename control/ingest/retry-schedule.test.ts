// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { RATE_WINDOW_S, RetrySchedule } from "./retry-schedule.ts";

/** A schedule that admitted `perSecond` batches a second in each second of the window ending with the second of `at`. */
function busy(perSecond: number, at: number, base = 2, max = 60) {
  const s = new RetrySchedule(base, max);
  for (let sec = 0; sec < RATE_WINDOW_S; sec++) {
    for (let i = 0; i < perSecond; i++) s.admitted(at - (RATE_WINDOW_S - 1 - sec) * 1000);
  }
  return s;
}

describe("retry schedule", () => {
  it("gives the base Retry-After to a lone refusal, and again once its slot has passed", () => {
    const s = new RetrySchedule(2, 60);
    expect(s.refused(1_000_000)).toBe(2);
    expect(s.refused(1_000_000 + 10_000)).toBe(2);
  });

  it("spaces a run of refusals 1 / (admission rate) apart, so they come back at the rate admitted", () => {
    const at = 1_000_000;
    const s = busy(100, at);
    expect(s.rate(at)).toBe(100);
    const afters = Array.from({ length: 1000 }, () => s.refused(at));
    // 1,000 refusals at 100 admissions a second: slots from 2 s to 12 s out, 100 per second of Retry-After.
    expect(afters[0]).toBe(2);
    expect(afters[999]).toBe(12);
    const perSecond = new Map<number, number>();
    for (const a of afters) perSecond.set(a, (perSecond.get(a) ?? 0) + 1);
    for (let t = 3; t <= 11; t++) expect(perSecond.get(t)).toBe(100);
    expect(s.peek(at)).toBe(12);
  });

  it("never asks for more than the cap, however long the run", () => {
    const at = 1_000_000;
    const s = busy(10, at, 2, 30);
    const afters = Array.from({ length: 5000 }, () => s.refused(at));
    expect(Math.max(...afters)).toBe(30);
    expect(afters.filter((a) => a === 30).length).toBeGreaterThan(4000);
  });

  it("counts a control plane admitting less than one a second as one a second", () => {
    const s = new RetrySchedule(3, 60);
    expect([s.refused(5000), s.refused(5000), s.refused(5000)]).toEqual([3, 4, 5]);
  });

  it("forgets admissions older than the window", () => {
    const s = busy(50, 1_000_000);
    expect(s.rate(1_000_000)).toBe(50);
    expect(s.rate(1_000_000 + 2000)).toBe(30);
    expect(s.rate(1_000_000 + RATE_WINDOW_S * 1000)).toBe(0);
  });

  it("with the cap equal to the base, is the fixed Retry-After of old", () => {
    const s = busy(100, 1_000_000, 2, 2);
    expect(new Set(Array.from({ length: 500 }, () => s.refused(1_000_000)))).toEqual(new Set([2]));
  });
});
