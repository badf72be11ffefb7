// SPDX-License-Identifier: Apache-2.0
/**
 * Ranges of the Maglev pool (lb_maglev): every service's table lives at its
 * own range, in whole chunks of LB_MAGLEV_CHUNK slots. Requests come in the
 * Maglev size classes (MAGLEV_SIZES rounded up to chunks), so a range freed
 * by one table usually fits the next of its class exactly: freed ranges are
 * kept by size for exact reuse, and merged with free neighbours so that
 * classes can trade space. Otherwise the smallest free range that fits is
 * split (lowest address first among equals).
 *
 * Pure bookkeeping: what may be freed when (the quarantine) is the
 * programmer's business.
 */
import { MAGLEV_SIZES } from "../../../control/wire/maglev.ts";
import { LB_MAGLEV_CHUNK } from "./layout.ts";

/** Chunks a table of `slots` slots occupies. */
export function chunksFor(slots: number): number {
  return Math.ceil(slots / LB_MAGLEV_CHUNK);
}

/** The size classes, in chunks. */
export const SIZE_CLASSES: readonly number[] = MAGLEV_SIZES.map(chunksFor);

export class PoolAllocator {
  /** Free ranges by address: starts and lengths, sorted by start, never touching (merged). */
  #starts: number[] = [];
  #lens: number[] = [];
  /** Free ranges by length (start set), for exact reuse. */
  readonly #byLen = new Map<number, Set<number>>();
  #free: number;

  constructor(readonly chunks: number) {
    if (!Number.isInteger(chunks) || chunks < 1) throw new Error(`pool: ${chunks} chunks`);
    this.#free = chunks;
    this.#insert(0, 0, chunks);
  }

  /** Chunks in use. */
  get used(): number {
    return this.chunks - this.#free;
  }

  /** Chunks free. */
  get available(): number {
    return this.#free;
  }

  /** Number of free ranges (fragmentation). */
  get fragments(): number {
    return this.#starts.length;
  }

  /** The longest free range. */
  get largestFree(): number {
    return this.#lens.reduce((a, b) => Math.max(a, b), 0);
  }

  /** A range of `n` chunks: its first chunk, or null when no free range is long enough. */
  alloc(n: number): number | null {
    if (!Number.isInteger(n) || n < 1) throw new Error(`pool: cannot allocate ${n} chunks`);
    let i = -1;
    const exact = this.#byLen.get(n);
    if (exact?.size) {
      i = this.#indexOf(exact.values().next().value!);
    } else {
      for (let j = 0; j < this.#lens.length; j++) {
        if (this.#lens[j] >= n && (i < 0 || this.#lens[j] < this.#lens[i])) i = j;
      }
    }
    if (i < 0) return null;
    const start = this.#starts[i], len = this.#lens[i];
    this.#remove(i);
    if (len > n) this.#insert(i, start + n, len - n);
    this.#free -= n;
    return start;
  }

  /**
   * Marks a range in use that is free now (adopting the ranges a previous
   * agent's tables occupy). False when any of it is not free or out of the pool.
   */
  reserve(start: number, n: number): boolean {
    if (n < 1 || start < 0 || start + n > this.chunks) return false;
    const i = this.#floor(start);
    if (i < 0 || this.#starts[i] + this.#lens[i] < start + n) return false;
    const s = this.#starts[i], len = this.#lens[i];
    this.#remove(i);
    let at = i;
    if (start > s) this.#insert(at++, s, start - s);
    if (s + len > start + n) this.#insert(at, start + n, s + len - start - n);
    this.#free -= n;
    return true;
  }

  /** Gives a range back; it must be one alloc() or reserve() handed out (overlapping a free range throws). */
  free(start: number, n: number): void {
    if (n < 1 || start < 0 || start + n > this.chunks) {
      throw new Error(`pool: free of [${start}, +${n}) outside the pool`);
    }
    let i = this.#floor(start) + 1; // the first free range after start
    const prev = i - 1;
    if (prev >= 0 && this.#starts[prev] + this.#lens[prev] > start) {
      throw new Error(`pool: [${start}, +${n}) is free already`);
    }
    if (i < this.#starts.length && this.#starts[i] < start + n) {
      throw new Error(`pool: [${start}, +${n}) is free already`);
    }
    let s = start, len = n;
    if (prev >= 0 && this.#starts[prev] + this.#lens[prev] === start) {
      s = this.#starts[prev];
      len += this.#lens[prev];
      this.#remove(prev);
      i--;
    }
    if (i < this.#starts.length && this.#starts[i] === start + n) {
      len += this.#lens[i];
      this.#remove(i);
    }
    this.#insert(i, s, len);
    this.#free += n;
  }

  /** Free ranges [start, length], by address (tests). */
  freeRanges(): [number, number][] {
    return this.#starts.map((s, i) => [s, this.#lens[i]]);
  }

  /** Index of the free range with the greatest start ≤ `at`, or -1. */
  #floor(at: number): number {
    let lo = 0, hi = this.#starts.length - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.#starts[mid] <= at) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  #indexOf(start: number): number {
    const i = this.#floor(start);
    if (i < 0 || this.#starts[i] !== start) throw new Error(`pool: internal: no free range at ${start}`);
    return i;
  }

  #insert(i: number, start: number, len: number): void {
    this.#starts.splice(i, 0, start);
    this.#lens.splice(i, 0, len);
    let set = this.#byLen.get(len);
    if (!set) this.#byLen.set(len, set = new Set());
    set.add(start);
  }

  #remove(i: number): void {
    const set = this.#byLen.get(this.#lens[i])!;
    set.delete(this.#starts[i]);
    if (!set.size) this.#byLen.delete(this.#lens[i]);
    this.#starts.splice(i, 1);
    this.#lens.splice(i, 1);
  }
}
