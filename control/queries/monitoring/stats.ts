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
import type { StoredEndpoint } from "../../monitoring/attribution.ts";
import { dropStats, flowStats, tcpStats } from "../../db/schema.ts";
import {
  DROP_KEYS,
  FLOW_KEYS,
  IDENTITY,
  notRolledInto,
  OR_KEYS,
  orAggregate,
  TCP_KEYS,
} from "../../monitoring-store/layouts.ts";
import type { Window } from "../../monitoring/rollup.ts";
import { decodeEndpoints } from "./endpoints.ts";

export type StatsKind = "flows" | "tcp" | "drops";

const LAYOUT: Record<StatsKind, { table: SQLiteTable; keys: readonly string[] }> = {
  flows: { table: flowStats, keys: FLOW_KEYS },
  tcp: { table: tcpStats, keys: TCP_KEYS },
  drops: { table: dropStats, keys: DROP_KEYS },
};

export type Args = Record<string, InValue>;

export interface StatsQuery {
  /** Only what this node reported. */
  node?: string;
  /** A condition on the summed rows' key columns (quoted layout keys, e.g. `"client" IN (...)`), with its named args. */
  where?: string;
  args?: Args;
  /** Keep the reporting node in the key (else rows are summed over nodes). */
  byNode?: boolean;
}

/** A layout key as an SQL identifier. */
export const col = (key: string) => `"${key}"`;

/** The key columns of a kind (the rest are counters). */
export function identityKeys(kind: StatsKind): readonly string[] {
  return LAYOUT[kind].keys.slice(0, IDENTITY[kind]);
}

export function counterKeys(kind: StatsKind): readonly string[] {
  return LAYOUT[kind].keys.slice(IDENTITY[kind]);
}

/** `kind`'s rows over `w`, one per key (and node with byNode), counters summed (flags OR-ed). */
export function statsSql(kind: StatsKind, w: Window, q: StatsQuery = {}): { sql: string; args: Args } {
  const { table, keys } = LAYOUT[kind];
  const nodeCond = (c: string) => (q.node === undefined ? "" : ` AND ${c} = :node`);
  // Each part of the window (Window.parts: a 1m window's whole hours come from 1h) has its own bounds.
  const raw = (i: number, notIn?: "1m" | "1h") =>
    `SELECT r.node AS node, ${keys.map((k, i) => `j.value ->> ${i} AS ${col(k)}`).join(", ")} ` +
    `FROM monitoring_raw r, json_each(r.${kind}) j WHERE r.ts > :from${i} AND r.ts <= :to${i}${nodeCond("r.node")}` +
    (notIn ? ` AND ${notRolledInto(notIn, "r.")}` : "");
  const columns = getTableColumns(table);
  const stored = (i: number) =>
    `SELECT node, ${keys.map((k) => `"${columns[k]!.name}" AS ${col(k)}`).join(", ")} FROM "${getTableName(table)}" ` +
    `WHERE level = :level${i} AND bucket >= :from${i} AND bucket < :to${i}${nodeCond("node")}`;
  const parts = w.parts ?? [w];
  const args: Args = { ...q.args };
  const source = parts
    .map((p, i) => {
      Object.assign(args, { [`from${i}`]: p.from, [`to${i}`]: p.to });
      if (p.level === "raw") return raw(i);
      args[`level${i}`] = p.level;
      return `${stored(i)} UNION ALL ${raw(i, p.level)}`;
    })
    .join(" UNION ALL ");

  const or: readonly string[] = OR_KEYS[kind];
  const group = [...(q.byNode ? ["node"] : []), ...identityKeys(kind).map(col)];
  // Saturating: counters of up to 2^53 - 1 each add up past what sum() and libSQL take (db/counter-sums.ts).
  const sums = counterKeys(kind).map((k) =>
    `${or.includes(k) ? orAggregate(col(k)) : sumCounters(col(k))} AS ${col(k)}`
  );
  const sql = `SELECT ${[...group, ...sums].join(", ")} FROM (${source}) s` +
    (q.where ? ` WHERE ${q.where}` : "") +
    ` GROUP BY ${group.join(", ")}`;
  if (q.node !== undefined) args.node = q.node;
  return { sql, args };
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
  /** The endpoint of a key found in the `endpoints` columns. */
  endpoint(key: unknown): StoredEndpoint;
}

/**
 * Runs `inner` (statsSql) as `g`, with `extra` columns (window functions
 * over every row: totals) in `orderBy` order, at most `limit` rows, and
 * decodes the endpoint keys of the `endpoints` columns ("" is none).
 */
export async function selectSummed(
  db: Db,
  inner: { sql: string; args: Args },
  opts: { extra?: readonly string[]; orderBy: string; limit?: number; endpoints: readonly string[] },
): Promise<Summed> {
  const select = ["g.*", ...(opts.extra ?? [])].join(", ");
  const sql = `SELECT ${select} FROM (${inner.sql}) g ORDER BY ${opts.orderBy}` +
    (opts.limit === undefined ? "" : " LIMIT :limit");
  const args = opts.limit === undefined ? inner.args : { ...inner.args, limit: opts.limit };
  const rows = (await db.$client.execute({ sql, args })).rows as unknown as SummedRow[];
  const keys = rows.flatMap((r) => opts.endpoints.map((c) => String(r[c]))).filter((k) => k !== "");
  const names = await decodeEndpoints(db, keys);
  return { rows, endpoint: (key) => names.get(String(key))! };
}

/** An aggregated row's counters, read back as numbers. */
export function counters(kind: StatsKind, row: SummedRow): Record<string, number> {
  return Object.fromEntries(counterKeys(kind).map((k) => [k, Number(row[k])]));
}
