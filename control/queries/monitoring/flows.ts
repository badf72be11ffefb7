// SPDX-License-Identifier: Apache-2.0
/**
 * Flows over a window: FlowRows (client → server per port and protocol)
 * summed over the reporting nodes, or of one node, busiest first. Each
 * packet counts once: the ingest kept one observation of it (flows.ts).
 */
import type { Db } from "../../db/client.ts";
import { sumCounters } from "../../db/counter-sums.ts";
import type { FlowCounters, FlowRow } from "../../monitoring/flows.ts";
import type { Window } from "../../monitoring/rollup.ts";
import {
  allOf,
  counters,
  decodedService,
  podCondition,
  selectSummed,
  serviceCondition,
  statsSql,
  type Summed,
  type SummedRow,
} from "./stats.ts";

export interface FlowFilter {
  /** Only what this node reported. */
  node?: string;
  /** Endpoint keys of a pod (podKeysNamed): rows with it on either side. */
  pod?: readonly string[];
  /** A service's endpointKey: rows of that service (serviceCondition). */
  service?: string;
}

export interface FlowTotals {
  packets: number;
  bytes: number;
}

export interface FlowsResult {
  /** node is the filter's node, or "" when summed over nodes. */
  flows: FlowRow[];
  /** Both directions of every matching flow, also those past the limit. */
  totals: FlowTotals;
}

export const DEFAULT_FLOW_LIMIT = 500;
export const MAX_FLOW_LIMIT = 5_000;

export const BYTES = `g."fwdBytes" + g."revBytes"`;
export const PACKETS = `g."fwdPackets" + g."revPackets"`;
/** selectSummed's extra columns: the totals of every matching row (flowTotalsOf reads them back). */
export const FLOW_TOTALS = [
  `${sumCounters(PACKETS, "OVER ()")} AS "total.packets"`,
  `${sumCounters(BYTES, "OVER ()")} AS "total.bytes"`,
];

/** The totals of FLOW_TOTALS, from any row (zero without rows). */
export function flowTotalsOf(row: SummedRow | undefined): FlowTotals {
  return { packets: Number(row?.["total.packets"] ?? 0), bytes: Number(row?.["total.bytes"] ?? 0) };
}

/** Sorted by bytes (both directions) descending, then client, server, port, protocol; at most `limit` rows. */
export async function queryFlows(db: Db, w: Window, filter: FlowFilter = {}, limit?: number): Promise<FlowsResult> {
  const inner = statsSql("flows", w, {
    node: filter.node,
    ...allOf(podCondition(["client", "server"], filter.pod), serviceCondition("flows", filter.service)),
  });
  const { rows, endpoint } = await selectSummed(db, inner, {
    extra: FLOW_TOTALS,
    orderBy: `${BYTES} DESC, g."client", g."server", g."port", g."proto"`,
    limit,
    endpoints: ["client", "server", "service"],
  });
  const flows = rows.map((r) => flowOfRow(r, endpoint, filter.node));
  return { flows, totals: flowTotalsOf(rows[0]) };
}

/** A summed flows row (statsSql("flows")) as a FlowRow; `node` is the filter's, or none when summed over nodes. */
export function flowOfRow(r: SummedRow, endpoint: Summed["endpoint"], node: string | undefined): FlowRow {
  return {
    node: node ?? "",
    client: endpoint(r.client),
    server: endpoint(r.server),
    port: Number(r.port),
    proto: Number(r.proto),
    service: decodedService(endpoint(r.service)),
    ...(counters("flows", r) as unknown as FlowCounters),
  };
}
