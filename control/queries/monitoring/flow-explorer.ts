// SPDX-License-Identifier: Apache-2.0
/**
 * The flow explorer's read model (GET /api/v1/flows, the /flows page):
 * every flow row over a window (client → server per port, protocol and
 * service; summed over the reporting nodes unless a node is asked for),
 * with when it was first and last seen and a verdict, filtered, sorted and
 * paged in SQL so the verdict can be filtered and sorted on like the rest.
 *
 * First and last seen (statsSql's `seen`): on the raw level the report
 * times of the first and last batch that carried the flow (its packets were
 * counted in the agent's interval before each); on 1m and 1h the start of
 * its first bucket and the end of its last one: known to the bucket only.
 *
 * Verdict: a TCP flow is joined with the window's TCP rows of the same
 * connection: the client's row (role client: local = client, remote =
 * server, same port and service) where there is one, else the server's
 * (role server: local = server, remote = client), so a connection seen by
 * both ends counts once. The verdict is the first of these that applies:
 *   refused    a connection attempt was refused (TCP row, failedRefused)
 *   timed_out  a connection attempt timed out (failedTimeout)
 *   failed     a connection attempt failed otherwise (failedOther)
 *   reset      an RST was seen on the flow (its OR of TCP flags)
 *   no_reply   TCP packets went to the server and none came back (with a
 *              node filter: only where that node would have seen them)
 *   ok         none of the above
 * with the counts beside it (connections), so a row with 99 good
 * connections and one refused says both. Drops cannot give a verdict: they
 * are stored per pod, interface and reason (drop_stats), not per flow, so
 * which flow a dropped packet belonged to is not known; the drops API and a
 * pod's page show them.
 */
import type { Db } from "../../db/client.ts";
import { MAX_COUNT } from "../../db/counter-sums.ts";
import { serviceKey } from "../../monitoring/attribution.ts";
import type { FlowRow } from "../../monitoring/flows.ts";
import { IPPROTO, tcpFlagBit } from "../../monitoring/names.ts";
import type { Window } from "../../monitoring/rollup.ts";
import { BYTES, FLOW_TOTALS, flowOfRow, type FlowTotals, flowTotalsOf, PACKETS } from "./flows.ts";
import { type Args, col, podCondition, selectSummed, serviceCondition, statsSql } from "./stats.ts";

/** Worst first: the verdict of a row is the first that applies. */
export const FLOW_VERDICTS = ["refused", "timed_out", "failed", "reset", "no_reply", "ok"] as const;
export type FlowVerdict = (typeof FLOW_VERDICTS)[number];

export const FLOW_SORTS = ["bytes", "packets", "first_seen", "last_seen"] as const;
export type FlowSort = (typeof FLOW_SORTS)[number];
export type SortOrder = "asc" | "desc";

export interface FlowExplorerFilter {
  /** Only what this node reported. */
  node?: string;
  /** A pod or service of this namespace on either side, or as the row's service. */
  namespace?: string;
  /** Endpoint keys of a pod (podKeysNamed): rows with it on either side. */
  pod?: readonly string[];
  /** The service the client addressed (the row's service). */
  service?: { namespace: string; name: string };
  port?: number;
  /** IP protocol number. */
  proto?: number;
  /** Only rows whose verdict is not ok. */
  failures?: boolean;
}

export interface FlowPage {
  sort: FlowSort;
  order: SortOrder;
  limit: number;
  offset: number;
}

/** Connections of a flow (its TCP rows, see above); zero for UDP and for flows without TCP rows. */
export interface FlowConnections {
  opened: number;
  refused: number;
  timedOut: number;
  failed: number;
  /** RSTs the connection's end saw sent and received. */
  resets: number;
  srttUsSum: number;
  srttSamples: number;
}

export interface ExplorerFlow extends FlowRow {
  /** ms; see the resolution above. */
  firstSeen: number;
  lastSeen: number;
  verdict: FlowVerdict;
  connections: FlowConnections;
}

export interface FlowExplorerResult {
  flows: ExplorerFlow[];
  /** Every matching row, also those outside the page. */
  total: number;
  totals: FlowTotals;
}

/** The TCP counters joined onto a flow: result column → TCP layout key(s) summed. */
const JOINED: Record<keyof FlowConnections, readonly string[]> = {
  opened: ["opened"],
  refused: ["failedRefused"],
  timedOut: ["failedTimeout"],
  failed: ["failedOther"],
  resets: ["resetsRx", "resetsTx"],
  srttUsSum: ["srttUsSum"],
  srttSamples: ["srttSamples"],
};
const joined = (k: keyof FlowConnections) => col(`tcp.${k}`);

/**
 * With a node filter a flow's replies may be another node's to report (a
 * server pod elsewhere sends them, and its node counts them): no_reply is
 * judged only where this node would have seen them, the server being no pod
 * or one of this node's (the endpoints table names a pod's node).
 */
const REPLIES_SEEN_HERE = `("server" NOT LIKE 'pod:%' OR ` +
  `(SELECT e."node" FROM endpoints e WHERE e."key" = "server") = :node)`;

function verdictSql(f: FlowExplorerFilter): string {
  return "CASE " +
    [
      `WHEN ${joined("refused")} > 0 THEN 'refused'`,
      `WHEN ${joined("timedOut")} > 0 THEN 'timed_out'`,
      `WHEN ${joined("failed")} > 0 THEN 'failed'`,
      `WHEN ("tcpFlags" & ${tcpFlagBit("RST")}) <> 0 THEN 'reset'`,
      `WHEN "proto" = ${IPPROTO.TCP} AND "fwdPackets" > 0 AND "revPackets" = 0` +
      `${f.node === undefined ? "" : ` AND ${REPLIES_SEEN_HERE}`} THEN 'no_reply'`,
    ].join(" ") + " ELSE 'ok' END";
}

const SORT_SQL: Record<FlowSort, string> = {
  bytes: BYTES,
  packets: PACKETS,
  first_seen: `g."firstSeen"`,
  last_seen: `g."lastSeen"`,
};
/** After the sort: the row's key, so equal values keep one order and pages neither repeat nor skip rows. */
const KEY_ORDER = `g."client", g."server", g."port", g."proto"`;

/** Endpoint keys of a namespace's pods (listed, or named by stored rows) and services. */
const NAMESPACE_KEYS = "SELECT 'pod:' || uid FROM pods WHERE namespace = :namespace " +
  "UNION SELECT key FROM endpoints WHERE namespace = :namespace AND kind IN ('pod', 'service')";

/**
 * The filter's conditions, with their args: on key columns before summing
 * (WHERE); on the service after (HAVING), as the label is settled only then
 * (serviceCondition).
 */
function keyConditions(f: FlowExplorerFilter): { where?: string; having?: string; args: Args } {
  const conds: string[] = [];
  const having: string[] = [];
  const args: Args = {};
  if (f.namespace !== undefined) {
    having.push(
      `(${["client", "server"].map((c) => `${col(c)} IN (${NAMESPACE_KEYS})`).join(" OR ")} OR ` +
        `max("service") IN (${NAMESPACE_KEYS}))`,
    );
    args.namespace = f.namespace;
  }
  const pod = podCondition(["client", "server"], f.pod);
  if (pod.where) (conds.push(pod.where), Object.assign(args, pod.args));
  const service = serviceCondition("flows", f.service && serviceKey({ kind: "service", ...f.service }));
  if (service.having) (having.push(service.having), Object.assign(args, service.args));
  if (f.port !== undefined) (conds.push(`"port" = :port`), (args.port = f.port));
  if (f.proto !== undefined) (conds.push(`"proto" = :proto`), (args.proto = f.proto));
  return {
    where: conds.length ? conds.join(" AND ") : undefined,
    having: having.length ? having.join(" AND ") : undefined,
    args,
  };
}

/** The flows of `w` with first/last seen, their TCP rows' counters and the verdict, filtered; not yet sorted. */
function explorerSql(w: Window, f: FlowExplorerFilter): { sql: string; args: Args } {
  const flows = statsSql("flows", w, { node: f.node, seen: true, ...keyConditions(f) });
  // Both roles' rows summed in one pass over the window (read once: MATERIALIZED), joined twice.
  const tcp = statsSql("tcp", w, { node: f.node, where: `"role" IN ('client', 'server')` });
  const on = (a: string, role: string, local: string, remote: string) =>
    `f."proto" = ${IPPROTO.TCP} AND ${a}."role" = '${role}' AND ${a}."port" = f."port" AND ` +
    `${a}."local" = f.${col(local)} AND ${a}."remote" = f.${col(remote)}`;
  // The client's row when there is one, else the server's (each connection once), else none.
  // Saturating like every counter read (db/counter-sums.ts): resets are two counters, each up to MAX_COUNT.
  const sum = (a: string, keys: readonly string[]) =>
    keys.length === 1 ? `${a}.${col(keys[0]!)}` : `min(${keys.map((k) => `${a}.${col(k)}`).join(" + ")}, ${MAX_COUNT})`;
  const tcpColumns = (Object.keys(JOINED) as (keyof FlowConnections)[]).map((k) =>
    `CASE WHEN c."local" IS NOT NULL THEN ${sum("c", JOINED[k])} ELSE coalesce(${sum("s", JOINED[k])}, 0) END AS ${
      joined(k)
    }`
  );
  const joinedSql = `WITH t AS MATERIALIZED (${tcp.sql}) SELECT f.*, ${tcpColumns.join(", ")} FROM (${flows.sql}) f ` +
    `LEFT JOIN t c ON ${on("c", "client", "client", "server")} ` +
    `LEFT JOIN t s ON ${on("s", "server", "server", "client")}`;
  const sql = `SELECT v.* FROM (SELECT j.*, ${verdictSql(f)} AS "verdict" FROM (${joinedSql}) j) v` +
    (f.failures ? ` WHERE v."verdict" <> 'ok'` : "");
  return { sql, args: { ...tcp.args, ...flows.args } };
}

const TOTAL_ROWS = `count(*) OVER () AS "total.rows"`;

/** One page of the matching flows in `page` order (ties by key), with the count and totals of all of them. */
export async function queryFlowExplorer(
  db: Db,
  w: Window,
  filter: FlowExplorerFilter,
  page: FlowPage,
): Promise<FlowExplorerResult> {
  const inner = explorerSql(w, filter);
  const dir = page.order === "asc" ? "ASC" : "DESC";
  const { rows, endpoint } = await selectSummed(db, inner, {
    extra: [TOTAL_ROWS, ...FLOW_TOTALS],
    orderBy: `${SORT_SQL[page.sort]} ${dir}, ${KEY_ORDER}`,
    limit: page.limit,
    offset: page.offset,
    endpoints: ["client", "server", "service"],
  });
  // A page past the end has no row to carry the totals: count them on their own.
  const first = rows[0] ?? (page.offset > 0 ? await totalsOnly(db, inner) : undefined);
  return {
    flows: rows.map((r): ExplorerFlow => ({
      ...flowOfRow(r, endpoint, filter.node),
      firstSeen: Number(r.firstSeen),
      lastSeen: Number(r.lastSeen),
      verdict: String(r.verdict) as FlowVerdict,
      connections: Object.fromEntries(
        (Object.keys(JOINED) as (keyof FlowConnections)[]).map((k) => [k, Number(r[`tcp.${k}`])]),
      ) as unknown as FlowConnections,
    })),
    total: Number(first?.["total.rows"] ?? 0),
    totals: flowTotalsOf(first),
  };
}

async function totalsOnly(db: Db, inner: { sql: string; args: Args }) {
  const { rows } = await selectSummed(db, inner, {
    extra: [TOTAL_ROWS, ...FLOW_TOTALS],
    orderBy: "1",
    limit: 1,
    endpoints: [],
  });
  return rows[0];
}
