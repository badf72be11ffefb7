// SPDX-License-Identifier: Apache-2.0
/**
 * Latency quantiles of a summed DNS latency histogram (DNS_LATENCY_BOUNDS_US buckets, the last one unbounded).
 * A bucket holds no finer times, so a quantile is the upper bound of the bucket holding it: an upper bound on
 * the true value, exact to the bucket. In the last bucket it has none: null, with `aboveUs` its lower bound.
 */
import { DNS_LATENCY_BOUNDS_US } from "../wire/dns.ts";

/** The upper bound in µs of the bucket holding quantile `q` (0 < q ≤ 1), null past the last bound or with no answers. */
export function latencyQuantileUs(buckets: readonly number[], q: number): number | null {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return null;
  // The rank of the quantile's answer, 1-based: the first bucket whose running count reaches it holds it.
  const rank = Math.max(1, Math.ceil(q * total));
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i]!;
    if (seen >= rank) return DNS_LATENCY_BOUNDS_US[i] ?? null;
  }
  return null;
}

/** The lower bound of the last (unbounded) bucket. */
export const LATENCY_ABOVE_US = DNS_LATENCY_BOUNDS_US[DNS_LATENCY_BOUNDS_US.length - 1]!;
