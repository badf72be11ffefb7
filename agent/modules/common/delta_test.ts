// SPDX-License-Identifier: Apache-2.0
import { assertEquals } from "../../testing/assert.ts";
import { DeltaTracker, u64At, u64Fields } from "./delta.ts";

type Row = [number, number[], number?];
const key = (k: number) => new Uint8Array([k, 0, 7]);
/** One whole read: the changed entries' deltas by key, and the idle keys. */
function read(t: DeltaTracker, rows: Row[], nowMs: number, idleMs = Infinity) {
  t.begin(nowMs, idleMs);
  const deltas: [number, number[]][] = [];
  for (const [k, c, g] of rows) {
    const d = t.see(key(k), c, g);
    if (d) deltas.push([k, d]);
  }
  return { deltas, idle: t.end().map((x) => x[0]) };
}

Deno.test("deltas of cumulative counters; recreated entries; forgotten keys", () => {
  const t = new DeltaTracker(2);
  assertEquals(read(t, [[1, [5, 50]], [2, [0, 0]]], 0).deltas, [[1, [5, 50]]]);
  assertEquals(read(t, [[1, [7, 70]], [2, [1, 10]]], 1).deltas, [[1, [2, 20]], [2, [1, 10]]]);
  assertEquals(read(t, [[1, [3, 30]]], 2).deltas, [[1, [3, 30]]]); // 1 made again (smaller); 2 gone
  assertEquals(t.size, 1);
  // another generation with larger counters is new too (e.g. a flow's first-seen time changed)
  read(t, [[1, [3, 30], 1]], 3);
  assertEquals(read(t, [[1, [9, 90], 2]], 4).deltas, [[1, [9, 90]]]);
  // only one field moved: the other's delta is 0
  assertEquals(read(t, [[1, [9, 95], 2]], 5).deltas, [[1, [0, 5]]]);
});

Deno.test("idle entries, a late count caught by lookup-and-delete, eviction accounting, slots reused", () => {
  const t = new DeltaTracker(2);
  read(t, [[1, [10, 1000]], [2, [1, 60]]], 0, 1000);
  // 1 grows; 2 unchanged but not idle long enough; 3 new
  let r = read(t, [[1, [15, 1500]], [2, [1, 60]], [3, [2, 120]]], 600, 1000);
  assertEquals(r, { deltas: [[1, [5, 500]], [3, [2, 120]]], idle: [] });
  r = read(t, [[1, [16, 1600]], [2, [1, 60]], [3, [2, 120]]], 1000, 1000);
  assertEquals(r.idle, [2]);
  // one more packet reached 2 before it was removed: not lost
  assertEquals(t.removed(key(2), { counters: [2, 120] }), [1, 60]);
  // 1 was evicted and made again with fewer packets: its whole value is the delta
  r = read(t, [[1, [3, 300]], [3, [2, 120]]], 1500, 1000);
  assertEquals(r.deltas, [[1, [3, 300]]]);
  // an idle entry evicted before the delete is not "removed"
  assertEquals(t.removed(key(3), null), null);
  // created by the kernel: 1, 2, 3 and 1 again = 4; 1 left, 1 removed -> 2 evicted (1 and 3)
  assertEquals([t.size, t.removedCount, t.evicted(4)], [1, 1, 2]);
  // freed slots serve new keys; old and new keep their own counters
  for (let i = 0; i < 100; i++) read(t, [[1, [3, 300]], [10 + (i % 50), [i + 1, i + 1]]], 2000 + i);
  assertEquals(read(t, [[1, [4, 400]], [60, [1, 1]]], 3000).deltas, [[1, [1, 100]], [60, [1, 1]]]);
});

Deno.test("an adopted table is a baseline: nothing reported until it changes", () => {
  const t = new DeltaTracker(2);
  t.baseline((see) => see(key(1), [5, 50]), 0);
  assertEquals(read(t, [[1, [5, 50]]], 1).deltas, []);
  assertEquals(read(t, [[1, [6, 60]]], 2).deltas, [[1, [1, 10]]]);
});

Deno.test("u64 fields summed over per-CPU slices; a u64 as a number", () => {
  const s = (a: number, b: number) => {
    const x = new Uint8Array(16);
    new DataView(x.buffer).setBigUint64(0, BigInt(a), true);
    new DataView(x.buffer).setBigUint64(8, BigInt(b), true);
    return x;
  };
  assertEquals(u64Fields([s(1, 2), s(3, 4)], 2), [4, 6]);
  assertEquals(u64At(new DataView(s(2 ** 40 + 5, 0).buffer), 0), 2 ** 40 + 5);
});
