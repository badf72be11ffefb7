/**
 * Per-interval deltas of a kernel map whose values are cumulative u64
 * counters. The last values seen are remembered per key (bounded by the
 * map's size: keys gone from the map are forgotten). An entry whose counters
 * went down was evicted and recreated in between: its whole value is new.
 */
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

export class DeltaTracker {
  private last = new Map<string, number[]>();

  diff(entries: [Uint8Array, number[]][]): [Uint8Array, number[]][] {
    const next = new Map<string, number[]>();
    const out: [Uint8Array, number[]][] = [];
    for (const [k, vals] of entries) {
      const id = hex(k);
      const prev = this.last.get(id);
      const recreated = prev !== undefined && vals.some((v, i) => v < prev[i]);
      const delta = prev && !recreated ? vals.map((v, i) => v - prev[i]) : vals;
      if (delta.some((x) => x > 0)) out.push([k, delta]);
      next.set(id, vals);
    }
    this.last = next;
    return out;
  }

  get size(): number {
    return this.last.size;
  }
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
