// SPDX-License-Identifier: Apache-2.0
/**
 * Which endpoint names the database holds fresh enough, per database, so a
 * batch sends only the endpoints that are new, newly named, or due for a
 * refresh of `last_used` (measured: sending all ~130 endpoints of a batch
 * every time was ~12% of the cost of storing it, almost always for nothing).
 *
 * The cache may claim a write that a failed transaction rolled back;
 * `forgetEndpointCache` drops it then, and the next batch sends everything.
 */
import type { Db } from "../db/client.ts";

/** Past this many keys the cache starts over (world IPs are unbounded). */
const MAX_KEYS = 200_000;

interface Sent {
  at: number;
  named: boolean;
}

const caches = new WeakMap<Db, Map<string, Sent>>();

/**
 * Of `rows` (endpointArray layout: [key, kind, namespace, name, ...]), those
 * to write at `now`, recorded as written; a row is skipped while a write of
 * it as named (or it is still unnamed) is less than `refreshMs` old.
 */
export function endpointsToWrite<R extends readonly unknown[]>(
  db: Db,
  rows: readonly R[],
  now: number,
  refreshMs: number,
): R[] {
  let cache = caches.get(db);
  if (cache === undefined || cache.size > MAX_KEYS) caches.set(db, cache = new Map());
  const out: R[] = [];
  for (const row of rows) {
    const key = String(row[0]);
    const named = (row[3] ?? "") !== "";
    const sent = cache.get(key);
    if (sent !== undefined && now - sent.at < refreshMs && (sent.named || !named)) continue;
    cache.set(key, { at: now, named: named || (sent?.named ?? false) });
    out.push(row);
  }
  return out;
}

export function forgetEndpointCache(db: Db): void {
  caches.delete(db);
}
