// SPDX-License-Identifier: Apache-2.0
/**
 * Merging two spooled batches into one, which is how a full spool makes room
 * (spool.ts) without losing what was counted.
 *
 * A batch has two kinds of content (control/wire/):
 * - per-interval deltas: flow, TCP and drop records, lb, gateway and accel
 *   counters, DNS records. Merged, they are summed per record key, so the merged batch
 *   counts exactly what the two counted.
 * - cumulative or current state: interface and pod counters, the inventory,
 *   the monitoring table statistics. The newer batch's values stand for both.
 *   Interfaces are a union by name (newest wins): one that vanished between
 *   the two keeps its final totals, as if both batches had been delivered.
 *   Pods are the newer batch's list only: the control plane takes a batch's
 *   pod list as the pods present at its time.
 *
 * The merged batch is the newer one's (node, bootId, seq, ts): the control
 * plane, which dedupes by seq per boot, stores it once, and the older seq is
 * simply never seen (seqs may have gaps). Its deltas land in the minute of the
 * newer batch's ts; only their spread over time is lost.
 */
import { Batch, MAX_BATCH_BYTES, MAX_INTERVAL_S } from "../../control/wire/batch.ts";
import { DNS_SERVER_ARRAYS, DNS_SERVER_SUMS } from "../../control/wire/dns.ts";
import { TCP_COUNTERS } from "../../control/wire/monitoring.ts";

/** Modules whose counters are tied to the lb state version they were counted under. */
const VERSIONED = ["lb", "gateway", "accel"] as const;

/**
 * Why `older` and `newer` cannot be merged, or null. Counters of different
 * boots restart from zero, and ids of services, backends and accel rules are
 * reused by the control plane, so rows counted under two lb state versions
 * may name different things.
 */
export function mergeBlocker(older: Batch, newer: Batch): string | null {
  if (older.node !== newer.node || older.bootId !== newer.bootId) return "they are of different boots";
  if (older.v !== newer.v) return "they are of different wire versions";
  if (older.seq >= newer.seq) return `batch ${older.seq} is not older than batch ${newer.seq}`;
  for (const m of VERSIONED) {
    const [a, b] = [older[m]?.version, newer[m]?.version];
    if (a !== undefined && b !== undefined && a !== b) {
      return `their ${m} counters are of lb state versions ${a} and ${b}`;
    }
  }
  return null;
}

/** `older` and `newer` (see mergeBlocker) as one batch: deltas summed per key, the newer state. */
export function mergeBatches(older: Batch, newer: Batch): Batch {
  const blocker = mergeBlocker(older, newer);
  if (blocker !== null) throw new Error(`cannot merge batches ${older.seq} and ${newer.seq}: ${blocker}`);
  const merged: Batch = {
    ...newer,
    interval: Math.min(MAX_INTERVAL_S, older.interval + newer.interval),
    interfaces: [...new Map([...older.interfaces, ...newer.interfaces].map((i) => [i.ifname, i])).values()],
  };
  const set = <K extends keyof Batch>(k: K, v: Batch[K] | undefined) => {
    if (v === undefined) delete merged[k];
    else merged[k] = v;
  };
  set("inventory", newer.inventory ?? older.inventory);
  set("monitoring", newer.monitoring ?? older.monitoring);
  set("pods", newer.pods ?? older.pods);
  set("flows", sumRecords(older.flows, newer.flows, ["packets", "bytes"], ["tcpFlags"]));
  set("tcp", sumRecords(older.tcp, newer.tcp, TCP_COUNTERS));
  set("drops", sumRecords(older.drops, newer.drops, ["packets", "bytes"]));
  set(
    "lb",
    both(older.lb, newer.lb, (a, b) => ({
      version: b.version,
      services: sumRows(a.services, b.services),
      backends: sumRows(a.backends, b.backends),
    })),
  );
  set(
    "gateway",
    both(older.gateway, newer.gateway, (a, b) => ({
      version: b.version,
      services: sumRows(a.services, b.services),
      flows: a.flows + b.flows,
      evicted: a.evicted + b.evicted,
      noBackend: a.noBackend + b.noBackend,
      // rows [serviceId, address, port, ...counters]: one per frontend
      ...(a.frontends || b.frontends ? { frontends: sumRows(a.frontends ?? [], b.frontends ?? [], 3) } : {}),
    })),
  );
  set("accel", both(older.accel, newer.accel, (a, b) => ({ version: b.version, rules: sumRows(a.rules, b.rules) })));
  set(
    "dns",
    both(older.dns, newer.dns, (a, b) => ({
      servers: sumRecords(a.servers, b.servers, DNS_SERVER_SUMS, [], DNS_SERVER_ARRAYS)!,
      names: sumRecords(a.names, b.names, ["queries", "nxdomain"])!,
    })),
  );
  return merged;
}

/**
 * The merge of `older` and `newer` as JSON if it is a valid batch that the
 * control plane accepts (record caps, counters that stay exact, MAX_BATCH_BYTES),
 * else null: then the two stay apart.
 */
export function mergeWithinLimits(older: Batch, newer: Batch): string | null {
  if (mergeBlocker(older, newer) !== null) return null;
  const merged = mergeBatches(older, newer);
  const text = JSON.stringify(merged);
  return text.length <= MAX_BATCH_BYTES && Batch.safeParse(merged).success ? text : null;
}

/**
 * A record's key: every field that is not summed (nor OR-ed), by name, so a
 * field the wire adds later is part of the key (kept apart, never mis-summed).
 */
function keyOf(r: object, merged: readonly string[]): string {
  return JSON.stringify(Object.entries(r).filter(([k]) => !merged.includes(k)).sort(([a], [b]) => a < b ? -1 : 1));
}

/**
 * Records of both lists, those of one key (keyOf) summed into one, in order of first appearance; `arrays`:
 * fields that are arrays of counters, summed by index.
 */
function sumRecords<T extends Record<S, number> & Record<A, number[]>, S extends string, A extends string = never>(
  a: T[] | undefined,
  b: T[] | undefined,
  sums: readonly S[],
  or: readonly S[] = [],
  arrays: readonly A[] = [],
): T[] | undefined {
  if (a === undefined && b === undefined) return undefined;
  const merged = [...sums, ...or, ...arrays];
  const out = new Map<string, T>();
  for (const r of [...(a ?? []), ...(b ?? [])]) {
    const k = keyOf(r, merged);
    const into = out.get(k);
    if (into === undefined) {
      out.set(k, { ...r, ...Object.fromEntries(arrays.map((f) => [f, [...r[f]]])) });
    } else {
      for (const s of sums) (into as Record<S, number>)[s] += r[s];
      for (const s of or) (into as Record<S, number>)[s] |= r[s];
      for (const f of arrays) r[f].forEach((n, i) => (into[f] as number[])[i] += n);
    }
  }
  return [...out.values()];
}

/** Positional counter rows [...key (keyLength fields), ...counters]: rows of one key summed column by column. */
function sumRows<R extends (number | string)[]>(a: R[], b: R[], keyLength = 1): R[] {
  const out = new Map<string, R>();
  for (const r of [...a, ...b]) {
    const k = JSON.stringify(r.slice(0, keyLength));
    const into = out.get(k);
    if (into === undefined) out.set(k, [...r] as R);
    else for (let i = keyLength; i < r.length; i++) (into[i] as number) += r[i] as number;
  }
  return [...out.values()];
}

/** f(a, b) when both are there, else the one that is. */
function both<T>(a: T | undefined, b: T | undefined, f: (a: T, b: T) => T): T | undefined {
  return a === undefined ? b : b === undefined ? a : f(a, b);
}
