// SPDX-License-Identifier: Apache-2.0
/**
 * The cluster overview: totals over every node (by status, pods, RX/TX
 * rate now), a page of nodes in the chosen order (optionally only those
 * whose name contains a text), each with its status, current RX/TX rate
 * (its interfaces summed at its latest report), pod count and the last hour
 * of its traffic per minute (a sparkline), and the pods talking most right
 * now.
 *
 * Built for 5,000 nodes (control/bench/render.ts): nothing here is done
 * per node in JavaScript. SQLite counts and sums the totals, orders every
 * node and hands back only the page's fifty, for which alone it reads
 * interfaces, pod counts and sparklines; the top talkers come from the
 * pods of the highest rate classes (topPodsByRate, the pods_rate_class
 * index). Reading every node's row into JavaScript, ordering there and
 * scanning every pod for the talkers took the overview's query 175 ms at
 * 5,000 nodes (p50; 35 ms so).
 */
import type { InValue } from "@libsql/client";
import type { Db } from "../db/client.ts";
import { NO_RATES, type Rates } from "../ingest/rates.ts";
import type { Window } from "../monitoring/rollup.ts";
import { querySparklines, type SparkPoint } from "./monitoring/interfaces.ts";
import { type PodRecord, topPodsByRate } from "./monitoring/pods.ts";
import type { NodeStatus, StatusThresholds } from "./node-status.ts";
import { type NodeSummary, toNodeSummary } from "./nodes.ts";

export interface OverviewNode extends NodeSummary {
  /** Current pods on the node (vanished ones not counted). */
  pods: number;
  /** Summed over its interfaces at its latest report; null where no interface has a rate yet. */
  rates: Rates;
  /**
   * Those interfaces (the ones its agent watches), by ifindex: what `rates` covers. Traffic between two pods of
   * the node crosses none of them, so a pod can receive more than its node's RX shows.
   */
  ifnames: string[];
  /** Its total per minute over the sparkline window, oldest first (minutes without data absent). */
  spark: SparkPoint[];
}

export interface ClusterTotals {
  nodes: number;
  byStatus: Record<NodeStatus, number>;
  pods: number;
  /** Sums of the Ready nodes' rates (those known). */
  rates: Rates;
}

/**
 * The orders of the node list: worst status first (Lost, Stale, Ready),
 * by name, or the most pods, RX or TX first; ties by name.
 */
export const OVERVIEW_SORTS = ["status", "name", "pods", "rx", "tx"] as const;
export type OverviewSort = (typeof OVERVIEW_SORTS)[number];

export interface OverviewQuery {
  sort: OverviewSort;
  /** 1-based. */
  page: number;
  /** Only nodes whose name contains this (node names are lowercase); "" for every node. */
  find: string;
}

export const DEFAULT_OVERVIEW_QUERY: OverviewQuery = { sort: "status", page: 1, find: "" };
export const NODES_PER_PAGE = 50;

export interface ClusterOverview {
  /** The page's nodes, in the query's order. */
  nodes: OverviewNode[];
  /** Over every node, whatever the query finds. */
  totals: ClusterTotals;
  /** How many nodes the query's `find` matches (all of them without one). */
  matching: number;
  /** Pods with the most bytes per second right now. */
  talkers: PodRecord[];
  /** What the sparklines cover. */
  spark: Window;
  /** As applied: the page is within 1..pages. */
  query: OverviewQuery;
  pages: number;
  /** Index of the page's first node in the whole ordered list (0-based). */
  offset: number;
}

/** How many pods the overview lists as top talkers. */
export const OVERVIEW_TALKERS = 10;

/** nodeStatus (node-status.ts) in SQL, as a rank (Lost 0, Stale 1, Ready 2), from :lostBefore and :staleBefore. */
const RANK = "CASE WHEN n.last_seen <= :lostBefore THEN 0 WHEN n.last_seen <= :staleBefore THEN 1 ELSE 2 END";
const READY = "n.last_seen > :staleBefore";
const FIND = "instr(n.name, :find) > 0";

/** The interface rate columns, in Rates' order below (rx, tx bytes; rx, tx packets). */
const RATE_COLUMNS = ["rx_bytes_per_sec", "tx_bytes_per_sec", "rx_packets_per_sec", "tx_packets_per_sec"] as const;
/** Each rate column's sum and how many rows know it. */
const RATE_SUMS = RATE_COLUMNS.flatMap((c) => [`sum(f.${c})`, `count(f.${c})`]).join(", ");

/**
 * Counts and sums over every node in one statement: nodes by status, those
 * `find` matches, current pods (from the pods_node index alone), and the
 * interface rates of every node and of those not Ready (readySums).
 */
const TOTALS_SQL = "SELECT json_array(count(*), " +
  "count(*) FILTER (WHERE n.last_seen <= :lostBefore), " +
  "count(*) FILTER (WHERE n.last_seen > :lostBefore AND n.last_seen <= :staleBefore), " +
  `count(*) FILTER (WHERE ${FIND}), ` +
  "(SELECT count(*) FROM pods WHERE vanished_at IS NULL), " +
  `json((SELECT json_array(${RATE_SUMS}) FROM interfaces f)), ` +
  `json((SELECT json_array(${RATE_SUMS}) FROM nodes n CROSS JOIN interfaces f ON f.node = n.name WHERE NOT ${READY}))` +
  ") AS totals FROM nodes n";

type Sums = Array<number | null>;
type TotalsJson = [number, number, number, number, number, Sums, Sums];

/**
 * The Ready nodes' sum of each rate (null when none of their interfaces
 * knows it). A node that stopped reporting has no rate now: its last one
 * would read as traffic still flowing and swell the totals (alerts count it
 * as none). Every node's sum less the others' (few: a seek each), rather than
 * a look-up of its node's status for every interface, which cost three times
 * as much at 5,000 nodes.
 */
function readySums(all: Sums, notReady: Sums): Rates {
  const sum = (i: number) => {
    const known = all[2 * i + 1]! - notReady[2 * i + 1]!;
    return known === 0 ? null : (all[2 * i] ?? 0) - (notReady[2 * i] ?? 0);
  };
  return { rxBytesPerSec: sum(0), txBytesPerSec: sum(1), rxPacketsPerSec: sum(2), txPacketsPerSec: sum(3) };
}

/** A Ready node's summed rate of one interface column, else null (unknown sorts last). */
const readyRate = (column: string) => ({
  from: `LEFT JOIN (SELECT node, sum(${column}) AS v FROM interfaces GROUP BY node) k ON k.node = n.name`,
  order: `(CASE WHEN ${READY} THEN k.v END) IS NULL, (CASE WHEN ${READY} THEN k.v END) DESC, n.name`,
});

/** How each order picks the page from every node: joins to what it orders by, and the ORDER BY. */
const ORDER: Record<OverviewSort, { from: string; order: string }> = {
  status: { from: "", order: `${RANK}, n.name` },
  name: { from: "", order: "n.name" },
  pods: {
    from:
      "LEFT JOIN (SELECT node, count(*) AS c FROM pods WHERE vanished_at IS NULL GROUP BY node) k ON k.node = n.name",
    order: "coalesce(k.c, 0) DESC, n.name",
  },
  rx: readyRate("rx_bytes_per_sec"),
  tx: readyRate("tx_bytes_per_sec"),
};

/**
 * The page's nodes, in order: the inner query orders every node (matching
 * `find`) and keeps the page; only then are its nodes' inventory,
 * interface sums and pod counts read (a seek each), not every node's.
 */
const pageSql = (sort: OverviewSort) =>
  "SELECT p.name, p.boot_id, p.last_seen, i.agent_version, i.kernel, " +
  `(SELECT json_array(count(*), ${
    RATE_COLUMNS.map((c) => `sum(f.${c})`).join(", ")
  }) FROM interfaces f WHERE f.node = p.name) AS interfaces, ` +
  "(SELECT count(*) FROM pods c WHERE c.node = p.name AND c.vanished_at IS NULL) AS pods, " +
  "(SELECT json_group_array(g.ifname) FROM (SELECT ifname FROM interfaces g WHERE g.node = p.name ORDER BY g.ifindex) g) " +
  "AS ifnames " +
  `FROM (SELECT n.name, n.boot_id, n.last_seen FROM nodes n ${ORDER[sort].from} WHERE ${FIND} ` +
  `ORDER BY ${ORDER[sort].order} LIMIT :limit OFFSET :offset) p LEFT JOIN node_inventories i ON i.node = p.name`;

export async function clusterOverview(
  db: Db,
  now: number,
  thresholds: StatusThresholds,
  query: OverviewQuery = DEFAULT_OVERVIEW_QUERY,
): Promise<ClusterOverview> {
  const find = query.find.toLowerCase();
  const args: Record<string, InValue> = {
    lostBefore: now - thresholds.lostAfterMs,
    staleBefore: now - thresholds.staleAfterMs,
    find,
  };
  const [totalsRow, talkers] = await Promise.all([
    db.$client.execute({ sql: TOTALS_SQL, args }),
    topPodsByRate(db, OVERVIEW_TALKERS),
  ]);
  const [nodes, lost, stale, matching, pods, all, notReady] = JSON.parse(
    String(totalsRow.rows[0]!.totals),
  ) as TotalsJson;
  const pages = Math.max(1, Math.ceil(matching / NODES_PER_PAGE));
  const page = Math.min(Math.max(1, query.page), pages);
  const offset = (page - 1) * NODES_PER_PAGE;
  const rows = (await db.$client.execute({
    sql: pageSql(query.sort),
    args: { ...args, limit: NODES_PER_PAGE, offset },
  })).rows;
  const shown = rows.map((r): OverviewNode => {
    const [interfaces, rxBytesPerSec, txBytesPerSec, rxPacketsPerSec, txPacketsPerSec] = JSON.parse(
      String(r.interfaces),
    ) as [number, ...Array<number | null>];
    const summary = toNodeSummary(
      { name: String(r.name), bootId: String(r.boot_id), lastSeen: Number(r.last_seen) },
      { agentVersion: r.agent_version as string | null, kernel: r.kernel as string | null },
      interfaces,
      now,
      thresholds,
    );
    const rates = summary.status === "Ready"
      ? {
        rxBytesPerSec: rxBytesPerSec ?? null,
        txBytesPerSec: txBytesPerSec ?? null,
        rxPacketsPerSec: rxPacketsPerSec ?? null,
        txPacketsPerSec: txPacketsPerSec ?? null,
      }
      : NO_RATES;
    return { ...summary, pods: Number(r.pods), rates, ifnames: JSON.parse(String(r.ifnames)) as string[], spark: [] };
  });
  const sparks = await querySparklines(db, now, shown.map((n) => n.name));
  for (const n of shown) n.spark = sparks.byNode.get(n.name) ?? [];
  return {
    nodes: shown,
    totals: {
      nodes,
      byStatus: { Ready: nodes - lost - stale, Stale: stale, Lost: lost },
      pods,
      rates: readySums(all, notReady),
    },
    matching,
    talkers,
    spark: sparks.window,
    query: { sort: query.sort, page, find },
    pages,
    offset,
  };
}
