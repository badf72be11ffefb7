// SPDX-License-Identifier: Apache-2.0
/**
 * How flow, TCP and drop rows travel as JSON: positional arrays, in the
 * order of the *_KEYS below (names as in control/db/schema.ts). The raw level
 * (monitoring_raw) stores them as they are; rollups and queries unpack them
 * with `value ->> i`. Endpoints are stored as endpointKey strings; their
 * names go to the `endpoints` table (endpointRows). A row's service is an
 * endpointKey too, "" for none (LABEL_KEYS).
 */
import type { dropServiceStats, dropStats, flowStats, tcpStats } from "../db/schema.ts";
import { endpointKey, type PodEndpoint, serviceKey, type StoredEndpoint } from "../monitoring/attribution.ts";
import type { DropRow } from "../monitoring/drops.ts";
import type { FlowRow } from "../monitoring/flows.ts";
import type { TcpRow } from "../monitoring/tcp.ts";
import { TCP_COUNTERS } from "../wire/monitoring.ts";

export const FLOW_KEYS = [
  "client",
  "server",
  "port",
  "proto",
  "fwdPackets",
  "fwdBytes",
  "revPackets",
  "revBytes",
  "tcpFlags",
  "service",
] as const satisfies ReadonlyArray<keyof typeof flowStats.$inferSelect>;

export const TCP_KEYS = [
  "local",
  "remote",
  "port",
  "role",
  ...TCP_COUNTERS,
  "service",
] as const satisfies ReadonlyArray<
  keyof typeof tcpStats.$inferSelect
>;

export const DROP_KEYS = ["pod", "ifname", "reason", "packets", "bytes"] as const satisfies ReadonlyArray<
  keyof typeof dropStats.$inferSelect
>;

/**
 * A raw drop entry is DROP_KEYS and then, at this position, the service's endpointKey ("" for none): after
 * the counters, so that raw rows written before it (an older agent or replica) and replicas that know it not
 * (a rolling upgrade, a rollback) read every other position as before; a missing one reads as "". Unlike a
 * flow's service it is part of the key, but drop_stats keeps summing over it (its key is as before) and
 * drop_service_stats holds the per-service part (DROP_SERVICE_KEYS).
 */
export const DROP_SERVICE_AT = DROP_KEYS.length;

/** drop_service_stats' row: the key of drop_stats and the service, then the counters. */
export const DROP_SERVICE_KEYS = [
  "pod",
  "ifname",
  "reason",
  "service",
  "packets",
  "bytes",
] as const satisfies ReadonlyArray<keyof typeof dropServiceStats.$inferSelect>;

/** Where each of DROP_SERVICE_KEYS lies in a raw drop entry. */
export const DROP_SERVICE_RAW_AT: readonly number[] = DROP_SERVICE_KEYS.map((k) =>
  k === "service" ? DROP_SERVICE_AT : DROP_KEYS.indexOf(k)
);

/** monitoring_raw's columns of rows, one JSON array per kind and batch. */
export type RawColumn = "flows" | "tcp" | "drops";

/** How many leading keys identify a row (the rest are counters). */
export const IDENTITY = { flows: 4, tcp: 4, drops: 3, dropServices: 4 } as const;
/**
 * Attributes after the counters: neither key nor counter, a value that
 * depends on the key (a row's service follows from its server's address and
 * port, as the registry was). A query's row has one per key (the largest: a
 * named service over none); a stored 1m/1h row keeps the latest non-empty one
 * a batch gave it. They come last so that raw rows written
 * before them (migration 0015), and control planes that know them not yet
 * (a rolling upgrade, a rollback), read every other position as before; a
 * missing one reads as "".
 */
export const LABEL_KEYS = { flows: ["service"], tcp: ["service"], drops: [], dropServices: [] } as const;
/** Counters merged by OR rather than summed. */
export const OR_KEYS = { flows: ["tcpFlags"], tcp: [], drops: [], dropServices: [] } as const;

/**
 * SQL aggregate: the bitwise OR of an 8-bit flags expression over a group.
 * SQLite has none, so this ORs together the maximum of each bit.
 */
export function orAggregate(expr: string): string {
  return "(" + [...Array(8).keys()].map((b) => `max((${expr}) & ${1 << b})`).join(" | ") + ")";
}

/**
 * A raw row's `rolled` (monitoring_raw's, from monitoring_raw_marks;
 * interface_history's own) is a bit set of the levels it has been added
 * into (rollup.ts); a row is deleted by retention only once in both.
 */
export const ROLLED_BIT = { "1m": 1, "1h": 2 } as const;
export const ROLLED_ALL = ROLLED_BIT["1m"] | ROLLED_BIT["1h"];

/** SQL condition: the raw row (`alias`, e.g. "r.") is not in `level` yet. An IN list, so the (rolled, id) index serves it. */
export function notRolledInto(level: keyof typeof ROLLED_BIT, alias = ""): string {
  return `${alias}rolled IN (0, ${ROLLED_ALL ^ ROLLED_BIT[level]})`;
}

type Json = string | number;

export function flowArray(r: FlowRow): Json[] {
  return [
    endpointKey(r.client),
    endpointKey(r.server),
    r.port,
    r.proto,
    r.fwdPackets,
    r.fwdBytes,
    r.revPackets,
    r.revBytes,
    r.tcpFlags,
    serviceKey(r.service),
  ];
}

export function tcpArray(r: TcpRow): Json[] {
  return [
    endpointKey(r.local),
    endpointKey(r.remote),
    r.port,
    r.role,
    r.opened,
    r.failedRefused,
    r.failedTimeout,
    r.failedOther,
    r.closed,
    r.durationMs,
    r.retransmits,
    r.resetsRx,
    r.resetsTx,
    r.srttUsSum,
    r.srttSamples,
    serviceKey(r.service),
  ];
}

/** DROP_KEYS, then the service at DROP_SERVICE_AT. */
export function dropArray(r: DropRow): Json[] {
  return [
    r.pod === undefined ? "" : endpointKey(r.pod),
    r.ifname ?? "",
    r.reason,
    r.packets,
    r.bytes,
    serviceKey(r.service),
  ];
}

/** Columns of the endpoints table, in the order of endpointArray. */
export const ENDPOINT_KEYS = ["key", "kind", "namespace", "name", "node", "ip"] as const;

export function endpointArray(e: StoredEndpoint): (string | null)[] {
  switch (e.kind) {
    case "pod":
      return [endpointKey(e), e.kind, e.namespace, e.name, e.node, null];
    case "service":
      return [endpointKey(e), e.kind, e.namespace, e.name, null, null];
    case "world":
      return [endpointKey(e), e.kind, null, null, null, e.ip];
    case "other":
      return [endpointKey(e), e.kind, null, null, null, null];
  }
}

/** Every endpoint some rows name, once. */
export function endpointsOf(
  flows: readonly FlowRow[],
  tcp: readonly TcpRow[],
  drops: readonly DropRow[],
  pods: readonly PodEndpoint[] = [],
): StoredEndpoint[] {
  const out = new Map<string, StoredEndpoint>();
  const add = (e: StoredEndpoint) => {
    const key = endpointKey(e);
    const had = out.get(key);
    // A pod known only by uid (empty names) gives way to the same pod with its names.
    if (had === undefined || (had.kind === "pod" && had.name === "")) out.set(key, e);
  };
  for (const r of [...flows, ...tcp, ...drops]) if (r.service) add(r.service);
  for (const r of flows) (add(r.client), add(r.server));
  for (const r of tcp) (add(r.local), add(r.remote));
  for (const r of drops) if (r.pod) add(r.pod);
  for (const p of pods) add(p);
  return [...out.values()];
}
