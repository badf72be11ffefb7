// SPDX-License-Identifier: Apache-2.0
/**
 * The SQL that sums flow, TCP or drop rows over a window, for the read
 * models beside this file. Everything is merged in SQLite (GROUP BY over
 * json_each for raw rows); JavaScript sees one row per key.
 *
 * On the raw level the rows come from monitoring_raw (report times in
 * (from, to]). On 1m and 1h they come from the level's table (buckets in
 * [from, to)) plus the raw rows not rolled up yet whose bucket lies in the
 * window: the rollup adds a raw row into a level and marks it rolled there in
 * one transaction, and a statement reads one snapshot, so every batch counts
 * exactly once, and the latest minutes show before maintenance has run.
 *
 * Result columns are named after the layout keys (control/monitoring-store/
 * layouts.ts: "client", "fwdPackets", ...), plus "node" when kept.
 */
import type { InValue } from "@libsql/client";
import { getTableColumns, getTableName } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import type { Db } from "../../db/client.ts";
import { sumCounters } from "../../db/counter-sums.ts";
import type { ServiceEndpoint, StoredEndpoint } from "../../monitoring/attribution.ts";
import { dropServiceStats, dropStats, flowStats, tcpStats } from "../../db/schema.ts";
import {
  DROP_KEYS,
  DROP_SERVICE_AT,
  DROP_SERVICE_KEYS,
  DROP_SERVICE_RAW_AT,
  FLOW_KEYS,
  IDENTITY,
  LABEL_KEYS,
  notRolledInto,
  OR_KEYS,
  orAggregate,
  type RawColumn,
  TCP_KEYS,
} from "../../monitoring-store/layouts.ts";
import { BUCKET_MS, type Level, type Window } from "../../monitoring/rollup.ts";
import { decodeEndpoints } from "./endpoints.ts";

export type StatsKind = "flows" | "tcp" | "drops" | "dropServices";

interface Layout {
  table: SQLiteTable;
  keys: readonly string[];
  /** Raw rows: the monitoring_raw column, where each key lies in an entry, and which entries count (SQL on `j`). */
  raw: { column: RawColumn; at?: readonly number[]; where?: string };
}

const LAYOUT: Record<StatsKind, Layout> = {
  flows: { table: flowStats, keys: FLOW_KEYS, raw: { column: "flows" } },
  tcp: { table: tcpStats, keys: TCP_KEYS, raw: { column: "tcp" } },
  drops: { table: dropStats, keys: DROP_KEYS, raw: { column: "drops" } },
  // The per-service part of the drops (drop_service_stats): raw drop entries that name a service.
  dropServices: {
    table: dropServiceStats,
    keys: DROP_SERVICE_KEYS,
    raw: {
      column: "drops",
      at: DROP_SERVICE_RAW_AT,
      where: `coalesce(j.value ->> ${DROP_SERVICE_AT}, '') != ''`,
    },
  },
};

export type Args = Record<string, InValue>;

export interface StatsQuery {
  /** Only what this node reported. */
  node?: string;
  /** A condition on the summed rows' key columns (quoted layout keys, e.g. `"client" IN (...)`), with its named args. */
  where?: string;
  /**
   * A condition on the summed rows (HAVING: key columns, and labels as `max("service")`): labels are settled
   * only once a key's rows are summed, so a condition on one must come after, or it would keep some of a key's
   * rows (those stored with that label) and leave out the rest.
   */
  having?: string;
  args?: Args;
  /** Keep the reporting node in the key (else rows are summed over nodes). */
  byNode?: boolean;
  /**
   * Also "firstSeen" and "lastSeen" (ms): the earliest and latest time a
   * row's key was reported in the window. A raw row counts at its report
   * time (its packets were counted in the interval before it); a stored
   * 1m/1h row at its bucket's start (first) and end (last), so on those
   * levels both are known to the bucket only.
   */
  seen?: boolean;
}

/** A layout key as an SQL identifier. */
export const col = (key: string) => `"${key}"`;

/** The key columns of a kind. */
export function identityKeys(kind: StatsKind): readonly string[] {
  return LAYOUT[kind].keys.slice(0, IDENTITY[kind]);
}

/** The attributes of a kind (LABEL_KEYS: last in the layout): one per key in a query's rows (see statsSql). */
export function labelKeys(kind: StatsKind): readonly string[] {
  return LABEL_KEYS[kind];
}

/** The counters: what lies between the keys and the labels. */
export function counterKeys(kind: StatsKind): readonly string[] {
  const { keys } = LAYOUT[kind];
  return keys.slice(IDENTITY[kind], keys.length - LABEL_KEYS[kind].length);
}

/** Position `i` of a raw row's entry: a label a row written before it existed lacks reads as "". */
function rawValue(kind: StatsKind, key: string, i: number): string {
  return (LABEL_KEYS[kind] as readonly string[]).includes(key) ? `coalesce(j.value ->> ${i}, '')` : `j.value ->> ${i}`;
}

/** `kind`'s rows over `w`, one per key (and node with byNode), counters summed (flags OR-ed). */
export function statsSql(kind: StatsKind, w: Window, q: StatsQuery = {}): { sql: string; args: Args } {
  const { table, keys, raw: from } = LAYOUT[kind];
  const nodeCond = (c: string) => (q.node === undefined ? "" : ` AND ${c} = :node`);
  // Each part of the window (Window.parts: a 1m window's whole hours come from 1h) has its own bounds.
  const seen = (first: string, last: string) => (q.seen ? `, ${first} AS "seenFrom", ${last} AS "seenTo"` : "");
  const raw = (i: number, notIn?: "1m" | "1h") =>
    `SELECT r.node AS node, ${
      keys.map((k, at) => `${rawValue(kind, k, from.at?.[at] ?? at)} AS ${col(k)}`).join(", ")
    }${seen("r.ts", "r.ts")} ` +
    `FROM monitoring_raw r, json_each(r.${from.column}) j WHERE r.ts > :from${i} AND r.ts <= :to${i}${
      nodeCond("r.node")
    }` +
    (from.where ? ` AND ${from.where}` : "") +
    (notIn ? ` AND ${notRolledInto(notIn, "r.")}` : "");
  const columns = getTableColumns(table);
  const stored = (i: number, level: Level) =>
    `SELECT node, ${keys.map((k) => `"${columns[k]!.name}" AS ${col(k)}`).join(", ")}` +
    `${seen("bucket", `bucket + ${BUCKET_MS[level]}`)} FROM "${getTableName(table)}" ` +
    `WHERE level = :level${i} AND bucket >= :from${i} AND bucket < :to${i}${nodeCond("node")}`;
  const parts = w.parts ?? [w];
  const args: Args = { ...q.args };
  const source = parts
    .map((p, i) => {
      Object.assign(args, { [`from${i}`]: p.from, [`to${i}`]: p.to });
      if (p.level === "raw") return raw(i);
      args[`level${i}`] = p.level;
      return `${stored(i, p.level)} UNION ALL ${raw(i, p.level)}`;
    })
    .join(" UNION ALL ");

  const or: readonly string[] = OR_KEYS[kind];
  const group = [...(q.byNode ? ["node"] : []), ...identityKeys(kind).map(col)];
  // One row per key: a label that changed within the window (a service made or deleted, rows stored before
  // labels existed) does not split it; max() keeps a named service over none.
  const labels = labelKeys(kind).map((k) => `max(${col(k)}) AS ${col(k)}`);
  // Saturating: counters of up to 2^53 - 1 each add up past what sum() and libSQL take (db/counter-sums.ts).
  const sums = counterKeys(kind).map((k) =>
    `${or.includes(k) ? orAggregate(col(k)) : sumCounters(col(k))} AS ${col(k)}`
  );
  const seenCols = q.seen ? [`min("seenFrom") AS "firstSeen"`, `max("seenTo") AS "lastSeen"`] : [];
  const sql = `SELECT ${[...group, ...labels, ...sums, ...seenCols].join(", ")} FROM (${source}) s` +
    (q.where ? ` WHERE ${q.where}` : "") +
    ` GROUP BY ${group.join(", ")}` +
    (q.having ? ` HAVING ${q.having}` : "");
  if (q.node !== undefined) args.node = q.node;
  return { sql, args };
}

type Condition = Pick<StatsQuery, "where" | "having" | "args">;

/** The key column that is the server end: where a row stored before labels (or by an older replica) names a VIP. */
const SERVER_END: Record<"flows" | "tcp", string> = { flows: "server", tcp: "remote" };

/**
 * Rows of a service (its endpointKey): named as their service once summed, or
 * addressed to its VIP (a TCP client's remote) though stored without the label;
 * no condition without one.
 */
export function serviceCondition(kind: "flows" | "tcp", service: string | undefined): Condition {
  if (service === undefined) return {};
  return { having: `(max("service") = :service OR ${col(SERVER_END[kind])} = :service)`, args: { service } };
}

/** Every condition at once. */
export function allOf(...conditions: Condition[]): Condition {
  const joined = (k: "where" | "having") => {
    const parts = conditions.flatMap((c) => (c[k] === undefined ? [] : [c[k]]));
    return parts.length === 0 ? undefined : parts.join(" AND ");
  };
  return {
    where: joined("where"),
    having: joined("having"),
    args: Object.assign({}, ...conditions.map((c) => c.args)),
  };
}

/** Rows with one of a pod's endpoint keys (podKeysNamed) in any of `columns`; no condition without keys. */
export function podCondition(
  columns: readonly string[],
  pod: readonly string[] | undefined,
): Pick<StatsQuery, "where" | "args"> {
  if (pod === undefined) return {};
  const where = columns.map((c) => `${col(c)} IN (SELECT value FROM json_each(:pod))`).join(" OR ");
  return { where: `(${where})`, args: { pod: JSON.stringify(pod) } };
}

export type SummedRow = Record<string, unknown>;

export interface Summed {
  rows: SummedRow[];
  /** The endpoint of a key found in the `endpoints` columns (undefined for "", no endpoint). */
  endpoint(key: unknown): StoredEndpoint;
}

/**
 * Runs `inner` (statsSql) as `g`, with `extra` columns (window functions
 * over every row: totals) in `orderBy` order, at most `limit` rows after
 * skipping `offset`, and
 * decodes the endpoint keys of the `endpoints` columns ("" is none).
 */
export async function selectSummed(
  db: Db,
  inner: { sql: string; args: Args },
  opts: { extra?: readonly string[]; orderBy: string; limit?: number; offset?: number; endpoints: readonly string[] },
): Promise<Summed> {
  const select = ["g.*", ...(opts.extra ?? [])].join(", ");
  const sql = `SELECT ${select} FROM (${inner.sql}) g ORDER BY ${opts.orderBy}` +
    (opts.limit === undefined ? "" : " LIMIT :limit") +
    (opts.offset === undefined ? "" : opts.limit === undefined ? " LIMIT -1 OFFSET :offset" : " OFFSET :offset");
  const args = {
    ...inner.args,
    ...(opts.limit === undefined ? {} : { limit: opts.limit }),
    ...(opts.offset === undefined ? {} : { offset: opts.offset }),
  };
  const rows = (await db.$client.execute({ sql, args })).rows as unknown as SummedRow[];
  const keys = rows.flatMap((r) => opts.endpoints.map((c) => String(r[c]))).filter((k) => k !== "");
  const names = await decodeEndpoints(db, keys);
  return { rows, endpoint: (key) => names.get(String(key))! };
}

/** A row's service column decoded (Summed.endpoint; "" decodes to none). */
export function decodedService(e: StoredEndpoint | undefined): ServiceEndpoint | undefined {
  return e?.kind === "service" ? e : undefined;
}

/** An aggregated row's counters, read back as numbers. */
export function counters(kind: StatsKind, row: SummedRow): Record<string, number> {
  return Object.fromEntries(counterKeys(kind).map((k) => [k, Number(row[k])]));
}
