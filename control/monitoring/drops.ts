// SPDX-License-Identifier: Apache-2.0
/**
 * Drop rows: DropRecords of one interval per (reporting node, pod or none,
 * interface or none, reason, service or none), summed. A record without a pod
 * is the node's own (a host interface, or a drop the kernel could not tie to
 * a pod). The service (wire version 5) is the one the agent found the dropped
 * packets addressed to or coming from; it is part of the key, so one pod's
 * drops of one reason split by service.
 */
import type { DropRecord } from "../wire/monitoring.ts";
import { type PodEndpoint, type PodIndex, podOfUid, type ServiceEndpoint, serviceKey } from "./attribution.ts";
import { mergeRows, type RowOps } from "./rows.ts";

export interface NodeDrop {
  node: string;
  record: DropRecord;
}

export interface DropRow {
  node: string;
  pod?: PodEndpoint;
  ifname?: string;
  reason: string;
  /** The service the record named; none for an agent older than wire version 5, or a drop no service matched. */
  service?: ServiceEndpoint;
  packets: number;
  bytes: number;
}

export function dropRowKey(r: Pick<DropRow, "node" | "pod" | "ifname" | "reason" | "service">): string {
  return `${r.node}|${r.pod?.uid ?? ""}|${r.ifname ?? ""}|${r.reason}|${serviceKey(r.service)}`;
}

/** A service as a record names it, "namespace/name" (the wire's ServiceName, validated there). */
export function serviceNamed(name: string): ServiceEndpoint {
  const slash = name.indexOf("/");
  return { kind: "service", namespace: name.slice(0, slash), name: name.slice(slash + 1) };
}

export const DROP_ROWS: RowOps<DropRow> = {
  key: dropRowKey,
  add(a, b) {
    a.packets += b.packets;
    a.bytes += b.bytes;
    return a;
  },
  weight: (r) => r.packets,
};

export function aggregateDrops(records: readonly NodeDrop[], index: PodIndex): DropRow[] {
  return mergeRows(
    records.map(({ node, record: r }): DropRow => ({
      node,
      ...(r.pod !== undefined ? { pod: podOfUid(index, r.pod, node) } : {}),
      ...(r.ifname !== undefined ? { ifname: r.ifname } : {}),
      reason: r.reason,
      ...(r.service !== undefined ? { service: serviceNamed(r.service) } : {}),
      packets: r.packets,
      bytes: r.bytes,
    })),
    DROP_ROWS,
  );
}

export interface ReasonTotal {
  reason: string;
  packets: number;
  bytes: number;
}

/** Drops per reason, most packets first (ties by reason). */
export function dropsByReason(rows: readonly DropRow[]): ReasonTotal[] {
  return totals(rows, (r) => r.reason, (r) => ({ reason: r.reason }));
}

/** Drops of one pod (or the nodes' own: no pod) and reason, over nodes, interfaces and services. */
export interface PodReasonTotal extends ReasonTotal {
  pod?: PodEndpoint;
}

/** Drops per pod and reason, most packets first (ties by pod uid, reason). */
export function dropsByPodAndReason(rows: readonly DropRow[]): PodReasonTotal[] {
  return totals(rows, (r) => `${r.pod?.uid ?? ""}|${r.reason}`, (r) => ({
    ...(r.pod === undefined ? {} : { pod: r.pod }),
    reason: r.reason,
  }));
}

/** Rows summed per `key`, each total starting as `first` of its first row; most packets first, ties by key. */
function totals<T extends ReasonTotal>(
  rows: readonly DropRow[],
  key: (r: DropRow) => string,
  first: (r: DropRow) => Omit<T, "packets" | "bytes">,
): T[] {
  const out = new Map<string, T>();
  for (const r of rows) {
    const k = key(r);
    const t = out.get(k) ?? ({ ...first(r), packets: 0, bytes: 0 } as T);
    t.packets += r.packets;
    t.bytes += r.bytes;
    out.set(k, t);
  }
  return [...out.entries()]
    .sort(([ka, a], [kb, b]) => b.packets - a.packets || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .map(([, t]) => t);
}
