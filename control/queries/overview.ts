/**
 * The cluster overview: totals over every node (by status, pods, RX/TX
 * rate now), a page of nodes in the chosen order, each with its status,
 * current RX/TX rate (its interfaces summed at its latest report), pod count
 * and the last hour of its traffic per minute (a sparkline), and the pods
 * talking most right now.
 *
 * Built for a thousand nodes (control/bench/render.ts): every node is one
 * JSON text from one query (libSQL turns every value of every row into a
 * JavaScript value one by one, which cost four times the query), and only
 * the page's nodes get sparklines: fifty rows an SRE can read, rather
 * than a thousand that would take the server and the browser a second.
 */
import type { Db } from "../db/client.ts";
import type { Rates } from "../ingest/rates.ts";
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
  /** Its total per minute over the sparkline window, oldest first (minutes without data absent). */
  spark: SparkPoint[];
}

export interface ClusterTotals {
  nodes: number;
  byStatus: Record<NodeStatus, number>;
  pods: number;
  /** Sums of the nodes' rates (those known). */
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
}

export const DEFAULT_OVERVIEW_QUERY: OverviewQuery = { sort: "status", page: 1 };
export const NODES_PER_PAGE = 50;

export interface ClusterOverview {
  /** The page's nodes, in the query's order. */
  nodes: OverviewNode[];
  totals: ClusterTotals;
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

/**
 * Every node: identity, status inputs, interface count and rate sums, current pods. Per node a
 * seek into interfaces and one into the pods_node index (which holds vanished_at, so counting
 * reads no pod row).
 */
const NODES_SQL = "SELECT json_group_array(json_array(n.name, n.boot_id, n.last_seen, i.agent_version, i.kernel, " +
  "json((SELECT json_array(count(*), sum(rx_bytes_per_sec), sum(tx_bytes_per_sec), sum(rx_packets_per_sec), sum(tx_packets_per_sec)) FROM interfaces f WHERE f.node = n.name)), " +
  "(SELECT count(*) FROM pods p WHERE p.node = n.name AND p.vanished_at IS NULL))) AS nodes " +
  "FROM nodes n LEFT JOIN node_inventories i ON i.node = n.name";

type NodeJson = [string, string, number, string | null, string | null, [number, ...Array<number | null>], number];

const SEVERITY: Record<NodeStatus, number> = { Lost: 0, Stale: 1, Ready: 2 };
const byName = (a: OverviewNode, b: OverviewNode) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
/** Descending, unknown (null) last. */
const most = (f: (n: OverviewNode) => number | null) => (a: OverviewNode, b: OverviewNode) => {
  const x = f(a), y = f(b);
  return x === y ? 0 : x === null ? 1 : y === null ? -1 : y - x;
};
const ORDER: Record<OverviewSort, (a: OverviewNode, b: OverviewNode) => number> = {
  status: (a, b) => SEVERITY[a.status] - SEVERITY[b.status],
  name: () => 0,
  pods: most((n) => n.pods),
  rx: most((n) => n.rates.rxBytesPerSec),
  tx: most((n) => n.rates.txBytesPerSec),
};

export async function clusterOverview(
  db: Db,
  now: number,
  thresholds: StatusThresholds,
  query: OverviewQuery = DEFAULT_OVERVIEW_QUERY,
): Promise<ClusterOverview> {
  const [json, talkers] = await Promise.all([db.$client.execute(NODES_SQL), topPodsByRate(db, OVERVIEW_TALKERS)]);
  const all = (JSON.parse(String(json.rows[0]?.nodes ?? "[]")) as NodeJson[]).map(
    (
      [
        name,
        bootId,
        lastSeen,
        agentVersion,
        kernel,
        [interfaces, rxBytesPerSec, txBytesPerSec, rxPacketsPerSec, txPacketsPerSec],
        pods,
      ],
    ): OverviewNode => {
      const summary = toNodeSummary({ name, bootId, lastSeen }, { agentVersion, kernel }, interfaces, now, thresholds);
      // A node that stopped reporting has no rate now: its last one would read
      // as traffic still flowing and swell the totals (alerts count it as none).
      const rates = summary.status === "Ready"
        ? {
          rxBytesPerSec: rxBytesPerSec ?? null,
          txBytesPerSec: txBytesPerSec ?? null,
          rxPacketsPerSec: rxPacketsPerSec ?? null,
          txPacketsPerSec: txPacketsPerSec ?? null,
        }
        : NO_RATES;
      return { ...summary, pods, rates, spark: [] };
    },
  );
  all.sort((a, b) => ORDER[query.sort](a, b) || byName(a, b));
  const pages = Math.max(1, Math.ceil(all.length / NODES_PER_PAGE));
  const page = Math.min(Math.max(1, query.page), pages);
  const offset = (page - 1) * NODES_PER_PAGE;
  const shown = all.slice(offset, offset + NODES_PER_PAGE);
  const sparks = await querySparklines(db, now, shown.map((n) => n.name));
  for (const n of shown) n.spark = sparks.byNode.get(n.name) ?? [];
  return {
    nodes: shown,
    totals: totalsOf(all),
    talkers,
    spark: sparks.window,
    query: { sort: query.sort, page },
    pages,
    offset,
  };
}

const NO_RATES: Rates = { rxBytesPerSec: null, txBytesPerSec: null, rxPacketsPerSec: null, txPacketsPerSec: null };
const RATE_KEYS = [
  "rxBytesPerSec",
  "txBytesPerSec",
  "rxPacketsPerSec",
  "txPacketsPerSec",
] as const satisfies ReadonlyArray<keyof Rates>;

function totalsOf(list: readonly OverviewNode[]): ClusterTotals {
  const byStatus: Record<NodeStatus, number> = { Ready: 0, Stale: 0, Lost: 0 };
  const rates: Rates = { ...NO_RATES };
  let podCount = 0;
  for (const n of list) {
    byStatus[n.status]++;
    podCount += n.pods;
    for (const k of RATE_KEYS) if (n.rates[k] !== null) rates[k] = (rates[k] ?? 0) + n.rates[k]!;
  }
  return { nodes: list.length, byStatus, pods: podCount, rates };
}
