// SPDX-License-Identifier: Apache-2.0
/**
 * Per-interval deltas of a kernel table whose values are cumulative u64
 * counters (flows, TCP stats, drops), with idle entries removed and every
 * entry the kernel made accounted for.
 *
 * The last counters seen are remembered per key (bounded by the table's
 * size: keys gone from the table are forgotten). An entry that the kernel
 * evicted and made again shows smaller counters than remembered, or another
 * generation (e.g. a flow's first-seen time): its whole value is then new.
 *
 * Idle entries (unchanged for idleMs of reads) are handed back for the caller
 * to remove with lookup-and-delete; what that returns goes to removed(), so
 * a packet counted between the read and the delete is not lost. Evictions are
 * never silent: every entry the kernel created is in the table, was removed
 * here, or was evicted, so evicted = created - entries - removed.
 *
 * Memory: a table is read whole every interval (tens of thousands of
 * entries), so what is kept per entry lives in typed arrays indexed by a
 * slot, and an unchanged entry costs no allocation but its key's string.
 */

/** Keys as map keys: one char per byte (cheap, and compact in V8). */
const idOf = (k: Uint8Array) => String.fromCharCode.apply(null, k as unknown as number[]);

export class DeltaTracker {
  readonly #slots = new Map<string, number>();
  #counters = new Float64Array(0);
  #gen = new Float64Array(0);
  #changedMs = new Float64Array(0);
  #round = new Uint32Array(0);
  #free: number[] = [];
  #now = 0;
  #idleMs = Infinity;
  #reading = 0;
  #idle: Uint8Array[] = [];
  /** Entries removed as idle (cumulative; restored after an adoption). */
  removedCount = 0;

  /** `fields`: counters per entry. */
  constructor(readonly fields: number) {}

  /** Entries remembered: those present at the last read. */
  get size(): number {
    return this.#slots.size;
  }

  /** Starts a read of the whole table (then see() for each entry, then end()). */
  begin(nowMs: number, idleMs = Infinity): void {
    this.#reading++;
    this.#now = nowMs;
    this.#idleMs = idleMs;
    this.#idle = [];
  }

  /**
   * One entry as the table holds it now: its counters minus those of the
   * last read (all of them for a new or remade entry), or null when nothing
   * changed. `key` may be a view into a buffer that is reused: it is copied
   * only when kept.
   */
  see(key: Uint8Array, counters: ArrayLike<number>, gen = 0): number[] | null {
    const id = idOf(key);
    let slot = this.#slots.get(id);
    const f = this.fields;
    if (slot === undefined) {
      slot = this.#alloc();
      this.#slots.set(id, slot);
      this.#store(slot, counters, gen);
      return Array.from(counters).some((x) => x > 0) ? Array.from(counters) : null;
    }
    this.#round[slot] = this.#reading;
    let same = this.#gen[slot] === gen;
    for (let i = 0; same && i < f; i++) same = counters[i] >= this.#counters[slot * f + i];
    let delta: number[] | null = null;
    if (!same) delta = Array.from(counters);
    else {
      for (let i = 0; i < f; i++) {
        const d = counters[i] - this.#counters[slot * f + i];
        if (d > 0) (delta ??= new Array(f).fill(0))[i] = d;
      }
    }
    if (delta || !same) this.#store(slot, counters, gen);
    else if (this.#now - this.#changedMs[slot] >= this.#idleMs) this.#idle.push(key.slice());
    return delta?.some((x) => x > 0) ? delta : null;
  }

  /** Ends a read: forgets the entries not seen (gone from the table); returns the idle ones' keys, to remove. */
  end(): Uint8Array[] {
    for (const [id, slot] of this.#slots) {
      if (this.#round[slot] !== this.#reading) {
        this.#slots.delete(id);
        this.#free.push(slot);
      }
    }
    return this.#idle;
  }

  /** Remembers the table as it is without reporting it: what it counted belongs to a predecessor that reported it. */
  baseline(
    read: (see: (key: Uint8Array, counters: ArrayLike<number>, gen?: number) => void) => void,
    nowMs: number,
  ): void {
    this.begin(nowMs);
    read((k, c, g) => void this.see(k, c, g));
    this.end();
  }

  /**
   * An idle entry was removed; `final` is what lookup-and-delete returned
   * (null: it was gone already). Returns the counts that arrived after the
   * last read, if any.
   */
  removed(key: Uint8Array, final: { counters: ArrayLike<number>; gen?: number } | null): number[] | null {
    const id = idOf(key);
    const slot = this.#slots.get(id);
    if (slot !== undefined) {
      this.#slots.delete(id);
      this.#free.push(slot);
    }
    if (!final) return null; // evicted in between: the kernel's created count says so
    this.removedCount++;
    const f = this.fields;
    let same = slot !== undefined && this.#gen[slot] === (final.gen ?? 0);
    for (let i = 0; same && i < f; i++) same = final.counters[i] >= this.#counters[slot! * f + i];
    const delta = Array.from(final.counters, (v, i) => same ? v - this.#counters[slot! * f + i] : v);
    return delta.some((x) => x > 0) ? delta : null;
  }

  /** Entries the kernel evicted, given how many it created (a cumulative kernel counter). */
  evicted(created: number): number {
    return Math.max(0, created - this.#slots.size - this.removedCount);
  }

  #store(slot: number, counters: ArrayLike<number>, gen: number): void {
    for (let i = 0; i < this.fields; i++) this.#counters[slot * this.fields + i] = counters[i];
    this.#gen[slot] = gen;
    this.#changedMs[slot] = this.#now;
    this.#round[slot] = this.#reading;
  }

  #alloc(): number {
    const free = this.#free.pop();
    if (free !== undefined) return free;
    const slot = this.#slots.size;
    if (slot >= this.#gen.length) {
      const n = Math.max(64, this.#gen.length * 2);
      this.#counters = grown(this.#counters, n * this.fields);
      this.#gen = grown(this.#gen, n);
      this.#changedMs = grown(this.#changedMs, n);
      this.#round = grown(this.#round, n);
    }
    return slot;
  }
}

/** A typed array of `size` elements holding `a`'s at its start. */
export function grown<T extends Uint8Array | Uint16Array | Uint32Array | Float64Array>(a: T, size: number): T {
  const b = new (a.constructor as new (n: number) => T)(size);
  b.set(a);
  return b;
}

/** An unsigned 64-bit little-endian value at `off` as a number (exact below 2^53). */
export function u64At(dv: DataView, off: number): number {
  return dv.getUint32(off, true) + dv.getUint32(off + 4, true) * 0x1_0000_0000;
}

/** u64 fields of a value (per-CPU slices summed when given several). */
export function u64Fields(slices: Uint8Array[], count: number): number[] {
  const sums = new Array<bigint>(count).fill(0n);
  for (const s of slices) {
    const dv = new DataView(s.buffer, s.byteOffset, s.byteLength);
    for (let i = 0; i < count; i++) sums[i] += dv.getBigUint64(i * 8, true);
  }
  return sums.map(Number);
}
