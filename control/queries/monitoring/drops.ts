/**
 * Drops over a window: DropRows per reporting node, pod (or the node's own),
 * interface and kernel reason, most packets first, with totals per reason.
 */
import type { Db } from "../../db/client.ts";
import type { PodEndpoint } from "../../monitoring/attribution.ts";
import { type DropRow, dropsByReason, type ReasonTotal } from "../../monitoring/drops.ts";
import type { Window } from "../../monitoring/rollup.ts";
import { podCondition, selectSummed, statsSql } from "./stats.ts";

export interface DropFilter {
  node?: string;
  /** Endpoint keys of a pod (podKeysNamed): its drops. */
  pod?: readonly string[];
}

export interface DropsResult {
  drops: DropRow[];
  byReason: ReasonTotal[];
}

export async function queryDrops(db: Db, w: Window, filter: DropFilter = {}): Promise<DropsResult> {
  const inner = statsSql("drops", w, { node: filter.node, byNode: true, ...podCondition(["pod"], filter.pod) });
  // The node's own drops have pod "" (and a drop without an interface, ifname "").
  const { rows, endpoint } = await selectSummed(db, inner, {
    orderBy: `g."packets" DESC, g.node, g."pod", g."ifname", g."reason"`,
    endpoints: ["pod"],
  });
  const drops = rows.map((r): DropRow => {
    const pod = String(r.pod), ifname = String(r.ifname);
    return {
      node: String(r.node),
      ...(pod === "" ? {} : { pod: endpoint(pod) as PodEndpoint }),
      ...(ifname === "" ? {} : { ifname }),
      reason: String(r.reason),
      packets: Number(r.packets),
      bytes: Number(r.bytes),
    };
  });
  return { drops, byReason: dropsByReason(drops) };
}
