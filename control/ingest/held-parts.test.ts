// SPDX-License-Identifier: Apache-2.0
/** The parts held per node for compact batches: what is known, what is not, and the bound past many nodes. */
import { describe, expect, it } from "vitest";
import { inventory } from "../test-support.ts";
import { HeldParts } from "./held-parts.ts";

const H = (n: number) => n.toString(16).padStart(16, "0");
const inv = (n: number) => ({ hash: H(n), value: inventory({ kernel: `k${n}` }) });
const pods = (n: number) => ({ hash: H(1_000_000 + n), value: [] });

describe("held parts", () => {
  it("names the parts sent by a hash other than the one held; a part not sent by hash is never unknown", () => {
    const held = new HeldParts(4);
    expect(held.unknown("a", { inventory: H(1), pods: H(2) })).toEqual(["inventory", "pods"]);
    expect(held.unknown("a", {})).toEqual([]);
    held.remember("a", { inventory: inv(1) });
    expect(held.unknown("a", { inventory: H(1), pods: H(2) })).toEqual(["pods"]);
    expect(held.unknown("a", { inventory: H(9) })).toEqual(["inventory"]);
    held.remember("a", { pods: { hash: H(2), value: [] } });
    expect(held.unknown("a", { inventory: H(1), pods: H(2) })).toEqual([]); // a part not carried stays held
    expect(held.of("a").inventory).toEqual(inv(1));
    expect(held.unknown("b", { inventory: H(1) })).toEqual(["inventory"]); // per node
  });

  it("past the thousandth node holds at most its bound: the least recently stored are forgotten", () => {
    const cap = 10, held = new HeldParts(cap);
    for (let n = 0; n < 1_500; n++) {
      held.remember(`n${n}`, { inventory: inv(n), pods: pods(n) });
      // n−cap+1 … n are held, n−cap is not: at every step, not only at the first eviction.
      expect(held.size).toBe(Math.min(n + 1, cap));
      expect(held.unknown(`n${n - cap + 1}`, { inventory: H(n - cap + 1) }), `after ${n}`).toEqual(
        n - cap + 1 >= 0 ? [] : ["inventory"],
      );
      if (n >= cap) expect(held.unknown(`n${n - cap}`, { inventory: H(n - cap) }), `after ${n}`).toEqual(["inventory"]);
    }
  });

  it("a node stored again counts as recent: the bound evicts by last use, not by first", () => {
    const held = new HeldParts(3);
    for (const n of [0, 1, 2]) held.remember(`n${n}`, { inventory: inv(n) });
    held.remember("n0", { inventory: inv(0) });
    held.remember("n3", { inventory: inv(3) });
    expect(held.unknown("n1", { inventory: H(1) })).toEqual(["inventory"]);
    for (const n of [0, 2, 3]) expect(held.unknown(`n${n}`, { inventory: H(n) })).toEqual([]);
  });

  it("refuses a bound below one", () => {
    expect(() => new HeldParts(0)).toThrow(/maxNodes must be at least 1/);
  });
});
