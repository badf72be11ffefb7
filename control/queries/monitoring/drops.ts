// SPDX-License-Identifier: Apache-2.0
/**
 * Drops over a window: DropRows per reporting node, pod (or the node's own),
 * interface, kernel reason and service, most packets first, with totals per
 * reason.
 *
 * drop_stats holds each (node, pod, interface, reason)'s total over all
 * services, and drop_service_stats the part of it that named a service (the
 * monitoring store, layouts.ts). A key's rows are its services' parts and,
 * when they leave some, a row without a service for the rest: drops of an
 * older agent, drops no service matched, a service part a cap left out, or
 * rolled up by a replica of before (a rolling upgrade), which knows only
 * drop_stats. Both are read in one statement, so one snapshot: the rows of a
 * key always add up to its total.
 */
import type { Db } from "../../db/client.ts";
import type { PodEndpoint } from "../../monitoring/attribution.ts";
import { type DropRow, dropsByReason, type ReasonTotal } from "../../monitoring/drops.ts";
import type { Window } from "../../monitoring/rollup.ts";
import { allOf, type Args, decodedService, podCondition, selectSummed, statsSql, type SummedRow } from "./stats.ts";

export interface DropFilter {
  node?: string;
  /** Endpoint keys of a pod (podKeysNamed): its drops. */
  pod?: readonly string[];
  /** A service's endpointKey: only the drops that named it. */
  service?: string;
}

export interface DropsResult {
  drops: DropRow[];
  byReason: ReasonTotal[];
}

/** The columns of both parts; "part" 0 is a key's total (drop_stats), 1 a service's part of it. */
const COLUMNS = `node, "pod", "ifname", "reason", "service", "packets", "bytes", part`;

export async function queryDrops(db: Db, w: Window, filter: DropFilter = {}): Promise<DropsResult> {
  const pod = podCondition(["pod"], filter.pod);
  const service = filter.service === undefined
    ? {}
    : { where: `"service" = :service`, args: { service: filter.service } as Args };
  const parts = statsSql("dropServices", w, { node: filter.node, byNode: true, ...allOf(pod, service) });
  let inner = { sql: `SELECT ${COLUMNS} FROM (SELECT *, 1 AS part FROM (${parts.sql}))`, args: parts.args };
  // With a service filter, only its parts: a key's total tells nothing about one service.
  if (filter.service === undefined) {
    const totals = statsSql("drops", w, { node: filter.node, byNode: true, ...pod });
    inner = {
      sql: `SELECT ${COLUMNS} FROM (SELECT *, '' AS "service", 0 AS part FROM (${totals.sql})) UNION ALL ${inner.sql}`,
      // Both name the window's and the filters' parameters alike, with the same values.
      args: { ...totals.args, ...parts.args },
    };
  }
  const { rows, endpoint } = await selectSummed(db, inner, {
    orderBy: `g.node, g."pod", g."ifname", g."reason", g.part DESC, g."service"`,
    endpoints: ["pod", "service"],
  });
  const drops = withRemainders(rows).map((r): DropRow => {
    const pod = String(r.pod), ifname = String(r.ifname);
    const service = decodedService(endpoint(r.service));
    return {
      node: String(r.node),
      ...(pod === "" ? {} : { pod: endpoint(pod) as PodEndpoint }),
      ...(ifname === "" ? {} : { ifname }),
      reason: String(r.reason),
      ...(service === undefined ? {} : { service }),
      packets: Number(r.packets),
      bytes: Number(r.bytes),
    };
  });
  // Most packets first; ties stay in key order (sort is stable), a key's rest after its services.
  drops.sort((a, b) => b.packets - a.packets);
  return { drops, byReason: dropsByReason(drops) };
}

/**
 * Rows in key order, each key's services (part 1) before its total (part 0):
 * the services' rows, and the total less them as a row without a service
 * when something is left (never below zero: a bucket a replica of before
 * pruned from drop_stats alone, before a newer one prunes drop_service_stats).
 */
function withRemainders(rows: readonly SummedRow[]): SummedRow[] {
  const out: SummedRow[] = [];
  let claimed = { packets: 0, bytes: 0 }, key = "";
  for (const r of rows) {
    const k = JSON.stringify([r.node, r.pod, r.ifname, r.reason]);
    if (k !== key) (key = k, claimed = { packets: 0, bytes: 0 });
    if (Number(r.part) === 1) {
      out.push(r);
      claimed.packets += Number(r.packets);
      claimed.bytes += Number(r.bytes);
      continue;
    }
    const rest = {
      packets: Math.max(0, Number(r.packets) - claimed.packets),
      bytes: Math.max(0, Number(r.bytes) - claimed.bytes),
    };
    if (rest.packets > 0 || rest.bytes > 0) out.push({ ...r, ...rest, service: "" });
  }
  return out;
}
