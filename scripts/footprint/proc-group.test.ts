// SPDX-License-Identifier: Apache-2.0
import { describe, expect, it } from "vitest";
import { groupLeaf, parseStat, sample } from "./proc-group.ts";

describe("proc-group", () => {
  it("reads a stat line whose command holds spaces and parentheses", () => {
    const line = "4242 (tsx (x) y) S 17 4242 4242 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 7 0 1 2 3";
    expect(parseStat(line)).toEqual({ ppid: 17, pgrp: 4242, cpuTicks: 325 });
  });

  it("samples this process, and finds a leaf of its own group", () => {
    const me = sample(process.pid)!;
    expect(me.rssKb).toBeGreaterThan(1000);
    expect(me.hwmKb).toBeGreaterThanOrEqual(me.rssKb);
    const leaf = groupLeaf(me.pgrp)!;
    expect(leaf.pgrp).toBe(me.pgrp);
    expect(sample(2 ** 22 + 1)).toBeNull(); // above the kernel's largest pid: no such process
  });
});
