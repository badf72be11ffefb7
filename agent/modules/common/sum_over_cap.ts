// SPDX-License-Identifier: Apache-2.0
/**
 * Record caps that sum instead of dropping (flows, tcp, drops): the biggest
 * records are kept as they are, the rest are summed into "other" records
 * (control/wire/monitoring.ts: OTHER_PEER), so every total stays exact.
 *
 * The "other" records count against the cap themselves. Levels go from fine
 * to coarse: per pod first; when even that makes more keys than the cap
 * allows, per node (a handful of records whatever the traffic). The finest
 * level that fits wins, keeping as many records whole as it can.
 *
 * Generic over record indices, not objects: the flows module holds a busy
 * interval's tens of thousands of records in columns (flows/records.ts) and
 * makes objects only for what goes into the batch.
 */

export interface SumOverCap<R> {
  /** Entries, most important first. */
  order: ArrayLike<number>;
  cap: number;
  /** Per level, fine to coarse: the key of the "other" record entry i is summed into. */
  levels: readonly ((i: number) => string)[];
  /** Entry i as a record, kept whole. */
  record(i: number): R;
  /** A new "other" record for entry i's key at `level`, with entry i's counters. */
  other(level: number, i: number): R;
  /** Adds entry i's counters into an "other" record. */
  add(other: R, i: number): void;
  /** The result's order, biggest first (a batch too big is trimmed from the end: agent/batch_fit.ts). */
  weight(r: R): number;
}

export interface Summed<R> {
  records: R[];
  /** Entries (distinct keys) summed into "other" records. */
  keysSummed: number;
}

/**
 * The records for a batch: at most `cap`. Throws when even the coarsest level
 * has more keys than the cap: the modules refuse such a cap at start
 * (checkCap with their MIN_*_RECORDS), so this is a programming error, not traffic.
 */
export function sumOverCap<R>(s: SumOverCap<R>): Summed<R> {
  const n = s.order.length;
  if (n <= s.cap) return { records: Array.from(s.order, (i) => s.record(i)), keysSummed: 0 };
  for (let level = 0; level < s.levels.length; level++) {
    const keys: string[] = []; // keys[n - 1 - j]: entry order[j]'s, computed once
    const kept = keptAt(s.order, s.cap, s.levels[level], keys);
    if (kept < 0) continue;
    const records: R[] = [];
    for (let j = 0; j < kept; j++) records.push(s.record(s.order[j]));
    const others = new Map<string, R>();
    for (let j = kept; j < n; j++) {
      const i = s.order[j];
      const key = keys[n - 1 - j];
      const o = others.get(key);
      if (o) s.add(o, i);
      else others.set(key, s.other(level, i));
    }
    records.push(...others.values());
    // stable: whole records keep their order among equals
    records.sort((a, b) => s.weight(b) - s.weight(a));
    return { records, keysSummed: n - kept };
  }
  throw new Error(`a cap of ${s.cap} records is below the "other" records it may need`);
}

/**
 * The most entries that can stay whole when the rest are summed by `key`:
 * the largest k with k + (distinct keys of entries k..n) <= cap, or -1 (the
 * keys it computed pushed onto `keys`, from the last entry backwards). That
 * sum never shrinks as k grows (one entry more kept whole, at most one key
 * less), so the first k that fits, counting down from n - 1, is the largest.
 */
function keptAt(order: ArrayLike<number>, cap: number, key: (i: number) => string, keys: string[]): number {
  const distinct = new Set<string>();
  for (let k = order.length - 1; k >= 0; k--) {
    const x = key(order[k]);
    keys.push(x);
    distinct.add(x);
    if (k + distinct.size <= cap) return k;
  }
  return -1;
}

/** Refuses a cap outside min..max; min: the most keys of the module's coarsest level. */
export function checkCap(what: string, cap: number, min: number, max: number): void {
  if (!Number.isInteger(cap) || cap < min || cap > max) {
    throw new Error(
      `${what}: ${min} to ${max} records per batch (the "other" records they may need included), not ${cap}`,
    );
  }
}
