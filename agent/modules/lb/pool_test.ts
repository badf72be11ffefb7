// SPDX-License-Identifier: Apache-2.0
/** The Maglev pool's range allocator: exact reuse per size class, merging, splitting, reservations, refusals. */
import { MAGLEV_SIZES } from "../../../control/wire/maglev.ts";
import { assert, assertEquals, assertThrows } from "../../testing/assert.ts";
import { chunksFor, PoolAllocator, SIZE_CLASSES } from "./pool.ts";
import { seeded } from "./fixtures.ts";

Deno.test("pool: size classes are the Maglev sizes in whole chunks", () => {
  assertEquals(SIZE_CLASSES.length, MAGLEV_SIZES.length);
  assertEquals(chunksFor(251), 16);
  assertEquals(chunksFor(256), 16);
  assertEquals(chunksFor(257), 17);
  for (const [i, slots] of MAGLEV_SIZES.entries()) {
    assert(SIZE_CLASSES[i] * 16 >= slots && (SIZE_CLASSES[i] - 1) * 16 < slots);
  }
});

Deno.test("pool: allocates from the bottom, refuses what does not fit, and counts", () => {
  const p = new PoolAllocator(100);
  assertEquals([p.alloc(16), p.alloc(32), p.alloc(16)], [0, 16, 48]);
  assertEquals([p.used, p.available], [64, 36]);
  assertEquals(p.alloc(37), null);
  assertEquals(p.alloc(36), 64);
  assertEquals(p.alloc(1), null);
  assertEquals(p.freeRanges(), []);
  assertThrows(() => p.alloc(0), Error, "cannot allocate");
});

Deno.test("pool: a freed range is reused whole by the next of its size, before splitting a larger one", () => {
  const p = new PoolAllocator(1000);
  const a = p.alloc(16)!, b = p.alloc(32)!, c = p.alloc(16)!;
  p.alloc(16); // keeps c from merging with the tail
  p.free(a, 16);
  p.free(c, 16);
  assertEquals(p.fragments, 3); // [0,16), [48,16), the tail
  const again = p.alloc(16)!;
  assert(again === a || again === c, `exact reuse, got ${again}`);
  assertEquals(p.fragments, 2);
  p.free(b, 32);
  assertEquals(p.alloc(32), b, "the 32 freed, not the tail");
});

Deno.test("pool: free merges with both neighbours; the whole pool comes back as one range", () => {
  const p = new PoolAllocator(64);
  const r = [p.alloc(16)!, p.alloc(16)!, p.alloc(16)!, p.alloc(16)!];
  p.free(r[0], 16);
  p.free(r[2], 16);
  assertEquals(p.freeRanges(), [[0, 16], [32, 16]]);
  p.free(r[1], 16);
  assertEquals(p.freeRanges(), [[0, 48]]);
  assertEquals(p.alloc(48), 0, "merged space serves a larger class");
  p.free(0, 48);
  p.free(r[3], 16);
  assertEquals(p.freeRanges(), [[0, 64]]);
  assertEquals([p.used, p.largestFree], [0, 64]);
});

Deno.test("pool: best fit among larger ranges; double free and foreign ranges throw", () => {
  const p = new PoolAllocator(200);
  const a = p.alloc(50)!, b = p.alloc(10)!, c = p.alloc(20)!, d = p.alloc(10)!;
  p.free(a, 50);
  p.free(c, 20); // free: [0,50), [60,20), tail [90,110)
  assertEquals(p.alloc(15), 60, "the 20, the smallest that fits");
  assertThrows(() => p.free(0, 10), Error, "free already");
  assertThrows(() => p.free(75, 10), Error, "free already");
  assertThrows(() => p.free(190, 20), Error, "outside");
  p.free(b, 10);
  p.free(d, 10);
  assertEquals(p.freeRanges(), [[0, 60], [75, 125]]);
});

Deno.test("pool: reserve marks ranges an adopted table occupies, anywhere, and refuses overlaps", () => {
  const p = new PoolAllocator(100);
  assert(p.reserve(40, 16));
  assert(p.reserve(0, 16));
  assert(!p.reserve(50, 10), "overlaps [40,56)");
  assert(!p.reserve(95, 10), "beyond the pool");
  assertEquals(p.freeRanges(), [[16, 24], [56, 44]]);
  assertEquals(p.alloc(24), 16);
  assertEquals(p.used, 56);
  p.free(40, 16);
  assertEquals(p.freeRanges(), [[40, 60]]);
});

Deno.test("pool: churn of random classes keeps the books exact", () => {
  const p = new PoolAllocator(4096);
  const held: [number, number][] = [];
  const rnd = seeded(7);
  for (let i = 0; i < 5000; i++) {
    if (held.length && rnd(3) === 0) {
      const [s, n] = held.splice(rnd(held.length), 1)[0];
      p.free(s, n);
    } else {
      const n = SIZE_CLASSES[rnd(4)];
      const s = p.alloc(n);
      if (s !== null) held.push([s, n]);
    }
    if (i % 500 === 0) {
      const sorted = [...held].sort((x, y) => x[0] - y[0]);
      for (let j = 1; j < sorted.length; j++) {
        assert(sorted[j - 1][0] + sorted[j - 1][1] <= sorted[j][0], "no two ranges overlap");
      }
      assertEquals(p.used, held.reduce((a, [, n]) => a + n, 0));
    }
  }
  for (const [s, n] of held) p.free(s, n);
  assertEquals(p.freeRanges(), [[0, 4096]]);
});
