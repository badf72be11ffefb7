// SPDX-License-Identifier: Apache-2.0
/** What generic code (rollups, windows, caps) needs to know about a kind of statistics row. */
export interface RowOps<R> {
  /** Rows with equal keys merge. */
  key(r: R): string;
  /** Adds b's counters into a (sums; flags OR), in place; returns a. */
  add(a: R, b: R): R;
  /** Size used to rank rows (bytes for flows): caps keep the heaviest. */
  weight(r: R): number;
}

/** Merges rows with equal keys (copies, inputs untouched); sorted by key so results never depend on input order. */
export function mergeRows<R extends object>(rows: Iterable<R>, ops: RowOps<R>): R[] {
  const out = new Map<string, R>();
  for (const r of rows) {
    const key = ops.key(r);
    const had = out.get(key);
    if (had) ops.add(had, r);
    else out.set(key, { ...r });
  }
  return [...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
}
