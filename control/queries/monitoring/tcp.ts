// SPDX-License-Identifier: Apache-2.0
/**
 * TCP health over a window: TcpRows (local pod, remote, port, role) summed
 * over the reporting nodes, or of one node. A connection between two pods
 * has two rows, the client's and the server's (tcp.ts): with a pod filter
 * the rows are that pod's own view (it is local); without, all rows are
 * listed and the totals count each connection once (connectionView) for
 * what belongs to a connection (opened, failed, closed, duration, a reset
 * seen by both ends), and every row for what each side does on its own
 * (retransmits, RTT samples).
 */
import type { Db } from "../../db/client.ts";
import { sumCounters } from "../../db/counter-sums.ts";
import type { Window } from "../../monitoring/rollup.ts";
import { TCP_WEIGHT_KEYS, type TcpCounters, type TcpRow } from "../../monitoring/tcp.ts";
import {
  allOf,
  col,
  counterKeys,
  counters,
  decodedService,
  podCondition,
  selectSummed,
  serviceCondition,
  statsSql,
} from "./stats.ts";

export interface TcpFilter {
  node?: string;
  /** Endpoint keys of a pod (podKeysNamed): rows where it is local. */
  pod?: readonly string[];
  /** A service's endpointKey: rows of that service (serviceCondition). */
  service?: string;
}

export interface TcpResult {
  /** node is the filter's node, or "" when summed over nodes. */
  connections: TcpRow[];
  /** Over every matching row, also those past the limit; without a pod filter each connection once (see above). */
  totals: TcpCounters;
}

/** connectionView (control/monitoring/tcp.ts) as SQL: client rows, and others whose remote is not a pod. */
const CONNECTION_VIEW = `g."role" = 'client' OR g."remote" NOT LIKE 'pod:%'`;
/** Counters of a connection, seen by both of its ends: counted once, through CONNECTION_VIEW. */
const PER_CONNECTION: readonly string[] = [
  "opened",
  "failedRefused",
  "failedTimeout",
  "failedOther",
  "closed",
  "durationMs",
  "resetsRx",
  "resetsTx",
];
/** Busiest first, as caps weigh TCP rows (TCP_ROWS.weight). */
const WEIGHT = TCP_WEIGHT_KEYS
  .map((k) => `g.${col(k)}`).join(" + ");

/** Busiest first, then by key; at most `limit` rows. */
export async function queryTcp(db: Db, w: Window, filter: TcpFilter = {}, limit?: number): Promise<TcpResult> {
  const inner = statsSql("tcp", w, {
    node: filter.node,
    ...allOf(podCondition(["local"], filter.pod), serviceCondition("tcp", filter.service)),
  });
  const counted = (k: string) => (filter.pod === undefined && PER_CONNECTION.includes(k) ? CONNECTION_VIEW : "1");
  const { rows, endpoint } = await selectSummed(db, inner, {
    extra: counterKeys("tcp").map((k) =>
      `${sumCounters(`CASE WHEN ${counted(k)} THEN g.${col(k)} ELSE 0 END`, "OVER ()")} AS ${col(`total.${k}`)}`
    ),
    orderBy: `${WEIGHT} DESC, g."local", g."remote", g."port", g."role"`,
    limit,
    endpoints: ["local", "remote", "service"],
  });
  const connections = rows.map(
    (r): TcpRow => ({
      node: filter.node ?? "",
      local: endpoint(r.local),
      remote: endpoint(r.remote),
      port: Number(r.port),
      role: String(r.role) as TcpRow["role"],
      service: decodedService(endpoint(r.service)),
      ...(counters("tcp", r) as unknown as TcpCounters),
    }),
  );
  const totals = Object.fromEntries(
    counterKeys("tcp").map((k) => [k, Number(rows[0]?.[`total.${k}`] ?? 0)]),
  ) as unknown as TcpCounters;
  return { connections, totals };
}
