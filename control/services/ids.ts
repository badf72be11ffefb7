// SPDX-License-Identifier: Apache-2.0
/**
 * Ids of services and backends: the smallest ones free. Agents index
 * fixed-size kernel arrays with them, so they must stay small and dense
 * (control/wire/services.ts, LB_MAX_SERVICES and LB_MAX_BACKENDS).
 */

/** Hands out, one call at a time, the smallest ids from 1 to `max` that are not in `used`; undefined once none is left. */
export function idAllocator(used: Iterable<number>, max: number): () => number | undefined {
  const taken = [...new Set(used)].sort((a, b) => a - b);
  let candidate = 1;
  let i = 0;
  return () => {
    while (i < taken.length && taken[i]! < candidate) i++;
    while (i < taken.length && taken[i] === candidate) {
      candidate++;
      i++;
    }
    if (candidate > max) return undefined;
    return candidate++;
  };
}
