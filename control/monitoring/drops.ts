/**
 * Drop rows: DropRecords of one interval per (reporting node, pod or none,
 * interface or none, reason), summed. A record without a pod is the node's
 * own (a host interface, or a drop the kernel could not tie to a pod).
 */
import type { DropRecord } from "../wire/monitoring.ts";
import { type PodEndpoint, type PodIndex, podOfUid } from "./attribution.ts";
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
  packets: number;
  bytes: number;
}

export function dropRowKey(r: Pick<DropRow, "node" | "pod" | "ifname" | "reason">): string {
  return `${r.node}|${r.pod?.uid ?? ""}|${r.ifname ?? ""}|${r.reason}`;
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
  const out = new Map<string, ReasonTotal>();
  for (const r of rows) {
    const t = out.get(r.reason) ?? { reason: r.reason, packets: 0, bytes: 0 };
    t.packets += r.packets;
    t.bytes += r.bytes;
    out.set(r.reason, t);
  }
  return [...out.values()].sort((a, b) => b.packets - a.packets || (a.reason < b.reason ? -1 : 1));
}
