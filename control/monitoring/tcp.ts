// SPDX-License-Identifier: Apache-2.0
/**
 * TCP health rows: TcpRecords of one interval per (reporting node, local
 * pod, remote endpoint, service port, role), summed. Averages stay exact over
 * any window because rows keep sums and counts (srtt sum and samples,
 * duration sum and closed connections).
 *
 * A connection between two pods is reported twice, as "client" by the
 * client's node and as "server" by the server's; both rows are stored (each
 * pod's page shows its own view). Counting connections once (service map,
 * cluster totals) goes through `connectionView`.
 */
import {
  addTcpCounters,
  isEmptyTcp,
  TCP_COUNTERS,
  type TcpCounters,
  type TcpRecord,
  zeroTcpCounters,
} from "../wire/monitoring.ts";
import {
  endpointKey,
  type PodIndex,
  podOfUid,
  resolveStored,
  type ServiceEndpoint,
  serviceKey,
  serviceOf,
  type StoredEndpoint,
} from "./attribution.ts";
import { IPPROTO } from "./names.ts";
import { mergeRows, type RowOps } from "./rows.ts";

export interface NodeTcp {
  node: string;
  record: TcpRecord;
}

/** The counters, and how they add up, are the wire's: the agent sums records over its cap the same way. */
export { addTcpCounters, type TcpCounters };
export const zeroTcp = zeroTcpCounters;

export interface TcpRow extends TcpCounters {
  node: string;
  /** The local pod; for the node's own sockets, the local address as "world". */
  local: StoredEndpoint;
  remote: StoredEndpoint;
  port: number;
  role: TcpRecord["role"];
  /** The service the connection was addressed to (PodIndex.service of the server's address and port), if any. */
  service?: ServiceEndpoint;
}

export function tcpRowKey(r: Pick<TcpRow, "node" | "local" | "remote" | "port" | "role" | "service">): string {
  return `${r.node}|${endpointKey(r.local)}|${endpointKey(r.remote)}|${r.port}|${r.role}|${serviceKey(r.service)}`;
}

/**
 * What a row weighs, for caps and for "busiest first" in queries (which sum
 * these columns in SQL): activity and every failure signal. Resets too: a
 * row of resets alone (e.g. aborts of connections the kernel did not see
 * open) is a failure signal.
 */
export const TCP_WEIGHT_KEYS = [
  "opened",
  "closed",
  "failedRefused",
  "failedTimeout",
  "failedOther",
  "retransmits",
  "resetsRx",
  "resetsTx",
] as const satisfies ReadonlyArray<keyof TcpCounters>;

export const TCP_ROWS: RowOps<TcpRow> = {
  key: tcpRowKey,
  add: addTcpCounters,
  weight: (r) => TCP_WEIGHT_KEYS.reduce((n, k) => n + r[k], 0),
};

/**
 * Rows from records. The local side: the pod of the record's uid (see
 * podOfUid), else the pod owning the local address, else that address. The
 * remote side resolves with the port when it is the server (role "client"),
 * so a service VIP names the service. The service is the server's: of the
 * remote address for a client, of the local one for a server (a backend);
 * none for an unknown role, whose port may be either end's.
 */
export function aggregateTcp(records: readonly NodeTcp[], index: PodIndex): TcpRow[] {
  return mergeRows(
    // An older agent may send records of zeros (a sub-millisecond duration rounded away): no row says nothing.
    records.filter(({ record }) => !isEmptyTcp(record)).map(({ node, record: r }): TcpRow => {
      const counters = zeroTcp();
      for (const k of TCP_COUNTERS) counters[k] = r[k];
      return {
        node,
        local: r.pod !== undefined ? podOfUid(index, r.pod, node) : resolveStored(index, r.local),
        remote: resolveStored(index, r.remote, r.role === "client" ? r.port : undefined, IPPROTO.TCP),
        port: r.port,
        role: r.role,
        service: r.role === "unknown"
          ? undefined
          : serviceOf(index, r.role === "client" ? r.remote : r.local, r.port, IPPROTO.TCP),
        ...counters,
      };
    }),
    TCP_ROWS,
  );
}

/** Connections that could not be made: refused, timed out, or failed otherwise. */
export function failures(c: TcpCounters): number {
  return c.failedRefused + c.failedTimeout + c.failedOther;
}

/** Average smoothed RTT in µs (sum / samples), null without samples. */
export function avgSrttUs(c: Pick<TcpCounters, "srttUsSum" | "srttSamples">): number | null {
  return c.srttSamples === 0 ? null : c.srttUsSum / c.srttSamples;
}

/** Average lifetime of the closed connections in ms, null when none closed. */
export function avgDurationMs(c: TcpCounters): number | null {
  return c.closed === 0 ? null : c.durationMs / c.closed;
}

/**
 * Each connection once: client rows are kept; server and unknown-role rows
 * only when the remote is not a pod (a pod remote reports its own client row).
 */
export function connectionView(rows: readonly TcpRow[]): TcpRow[] {
  return rows.filter((r) => r.role === "client" || r.remote.kind !== "pod");
}
