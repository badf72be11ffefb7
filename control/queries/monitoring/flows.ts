/**
 * Flows over a window: FlowRows (client → server per port and protocol)
 * summed over the reporting nodes, or of one node, busiest first. Each
 * packet counts once: the ingest kept one observation of it (flows.ts).
 */
import type { Db } from "../../db/client.ts";
import { sumCounters } from "../../db/counter-sums.ts";
import type { FlowCounters, FlowRow } from "../../monitoring/flows.ts";
import type { Window } from "../../monitoring/rollup.ts";
import { counters, podCondition, selectSummed, statsSql } from "./stats.ts";

export interface FlowFilter {
  /** Only what this node reported. */
  node?: string;
  /** Endpoint keys of a pod (podKeysNamed): rows with it on either side. */
  pod?: readonly string[];
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

const BYTES = `g."fwdBytes" + g."revBytes"`;

/** Sorted by bytes (both directions) descending, then client, server, port, protocol; at most `limit` rows. */
export async function queryFlows(db: Db, w: Window, filter: FlowFilter = {}, limit?: number): Promise<FlowsResult> {
  const inner = statsSql("flows", w, { node: filter.node, ...podCondition(["client", "server"], filter.pod) });
  const { rows, endpoint } = await selectSummed(db, inner, {
    extra: [
      `${sumCounters(`g."fwdPackets" + g."revPackets"`, "OVER ()")} AS "total.packets"`,
      `${sumCounters(BYTES, "OVER ()")} AS "total.bytes"`,
    ],
    orderBy: `${BYTES} DESC, g."client", g."server", g."port", g."proto"`,
    limit,
    endpoints: ["client", "server"],
  });
  const flows = rows.map(
    (r): FlowRow => ({
      node: filter.node ?? "",
      client: endpoint(r.client),
      server: endpoint(r.server),
      port: Number(r.port),
      proto: Number(r.proto),
      ...(counters("flows", r) as unknown as FlowCounters),
    }),
  );
  return {
    flows,
    totals: { packets: Number(rows[0]?.["total.packets"] ?? 0), bytes: Number(rows[0]?.["total.bytes"] ?? 0) },
  };
}
