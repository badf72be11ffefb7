// SPDX-License-Identifier: Apache-2.0
/**
 * Cardinality caps: at most N distinct keys per node and bucket, per kind of
 * row. Rows over the cap are not dropped: they are summed into one "other"
 * row of that node and bucket (so totals stay exact), and the number of keys
 * cut is counted.
 *
 * Apply per level: the keys a node already has in the target bucket are
 * passed in; rows with those keys always get through (they add no
 * cardinality), new keys get the free places heaviest first (ties by key),
 * the rest go into "other". A raw bucket is one batch, a 1-min bucket
 * gathers several, so a batch can be cut differently per level; each
 * level's totals stay exact.
 */
import { OTHER_DROP_REASON } from "../wire/monitoring.ts";
import { OTHER_ENDPOINT } from "./attribution.ts";
import type { DropRow } from "./drops.ts";
import type { FlowRow } from "./flows.ts";
import type { RowOps } from "./rows.ts";
import { type TcpRow, zeroTcp } from "./tcp.ts";

/** Settings: distinct keys stored per node per bucket, "other" not included. */
export interface CardinalityCaps {
  flows: number;
  tcp: number;
  drops: number;
  /** DNS (pod, name) and (pod, server, port) keys, capped at ingest (control/monitoring-store/dns.ts). */
  dnsNames: number;
  dnsServers: number;
}
export const DEFAULT_CAPS: CardinalityCaps = {
  flows: 2_000,
  tcp: 2_000,
  drops: 500,
  dnsNames: 2_000,
  dnsServers: 2_000,
};

export interface CapResult<R> {
  /** Rows that keep their own key. */
  kept: R[];
  /** The sum of the rest, keyed as the node's "other" row; undefined when nothing was cut. */
  other?: R;
  /** Distinct keys that went into "other". */
  cutKeys: number;
}

/**
 * The keys a node already has in a bucket ("other" excluded): how many, and whether a given key is one. All of
 * them as a Set, or (DNS) their count with only the batch's keys looked up.
 */
export type StoredKeys = Pick<ReadonlySet<string>, "size" | "has">;

/**
 * `rows`: one node's rows for one bucket, keys distinct (as aggregate* returns
 * them). `stored`: keys the node already has in that bucket ("other" excluded).
 * `otherRow`: the node's "other" row with zero counters.
 */
export function capRows<R extends object>(
  rows: readonly R[],
  stored: StoredKeys,
  cap: number,
  ops: RowOps<R>,
  otherRow: R,
): CapResult<R> {
  const kept: R[] = [];
  const fresh: R[] = [];
  if (stored.size === 0) fresh.push(...rows);
  else for (const r of rows) (stored.has(ops.key(r)) ? kept : fresh).push(r);
  // Heaviest first, ties by key (so the order never depends on the input's); keys built only for ties.
  const weights = new Map(fresh.map((r) => [r, ops.weight(r)]));
  const keys = new Map<R, string>();
  const key = (r: R) => keys.get(r) ?? (keys.set(r, ops.key(r)), keys.get(r)!);
  fresh.sort((a, b) => weights.get(b)! - weights.get(a)! || (key(a) < key(b) ? -1 : 1));
  const room = Math.max(0, cap - stored.size);
  kept.push(...fresh.slice(0, room));
  const cut = fresh.slice(room);
  if (cut.length === 0) return { kept, cutKeys: 0 };
  const other = { ...otherRow };
  for (const r of cut) ops.add(other, r);
  return { kept, other, cutKeys: cut.length };
}

const OTHER = OTHER_ENDPOINT;

export function otherFlowRow(node: string): FlowRow {
  return {
    node,
    client: OTHER,
    server: OTHER,
    port: 0,
    proto: 0,
    fwdPackets: 0,
    fwdBytes: 0,
    revPackets: 0,
    revBytes: 0,
    tcpFlags: 0,
  };
}

export function otherTcpRow(node: string): TcpRow {
  return { node, local: OTHER, remote: OTHER, port: 0, role: "unknown", ...zeroTcp() };
}

/** The wire's: an agent's cap sums into the same reason. */
export { OTHER_DROP_REASON };

export function otherDropRow(node: string): DropRow {
  return { node, reason: OTHER_DROP_REASON, packets: 0, bytes: 0 };
}
