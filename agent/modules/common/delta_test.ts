import { assertEquals } from "../../testing/assert.ts";
import { DeltaTracker, u64Fields } from "./delta.ts";

Deno.test("deltas of cumulative counters; recreated entries; forgotten keys", () => {
  const k1 = new Uint8Array([1]), k2 = new Uint8Array([2]);
  const t = new DeltaTracker();
  assertEquals(t.diff([[k1, [5, 50]], [k2, [0, 0]]]).map(([k, v]) => [k[0], v]), [[1, [5, 50]]]);
  assertEquals(t.diff([[k1, [7, 70]], [k2, [1, 10]]]).map(([k, v]) => [k[0], v]), [[1, [2, 20]], [2, [1, 10]]]);
  assertEquals(t.diff([[k1, [3, 30]]]).map(([k, v]) => [k[0], v]), [[1, [3, 30]]]); // k1 recreated; k2 gone
  assertEquals(t.size, 1);
});

Deno.test("u64 fields summed over per-CPU slices", () => {
  const s = (a: number, b: number) => {
    const x = new Uint8Array(16);
    new DataView(x.buffer).setBigUint64(0, BigInt(a), true);
    new DataView(x.buffer).setBigUint64(8, BigInt(b), true);
    return x;
  };
  assertEquals(u64Fields([s(1, 2), s(3, 4)], 2), [4, 6]);
});
