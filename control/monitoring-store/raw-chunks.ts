// SPDX-License-Identifier: Apache-2.0
/**
 * Which raw rows a maintenance run rolls into a level, and in what pieces:
 * the plan (fixed at the start of the run) and each chunk's rows, for both
 * raw tables (rollup.ts for monitoring_raw, interface-rollup.ts for
 * interface_history). A chunk is whole nodes, one transaction.
 *
 * A chunk's rows are read through the table's (node, ts) index, between the
 * earliest report time of its nodes' pending rows and `until`: it visits its
 * own rows, not every row still pending. Read through the (rolled, …) index
 * instead, every chunk walked all pending rows to keep its nodes' — at
 * 1,000 nodes, 200 chunks × 6,000 rows for a minute, and for the 1 h level
 * (ten minutes pending, a node a chunk) 1,000 chunks × 60,000 rows.
 */
import type { SqlTransaction } from "../db/prepared.ts";
import { notRolledInto, ROLLED_ALL, ROLLED_BIT } from "./layouts.ts";

export type RollupLevel = "1m" | "1h";

/** Tables of raw rows (one per batch, with a `rolled` bit set per level, layouts.ts), as readers name them. */
export type RawTable = "monitoring_raw" | "interface_history";

export interface RollupChunk {
  nodes: string[];
  /** Earliest report time of the nodes' pending rows: where their range of the (node, ts) index starts. */
  since: number;
}

/** What one maintenance run rolls into a level: raw rows of `table` up to `upTo` reported up to `until`, in chunks of whole nodes. */
export interface RollupPlan {
  table: RawTable;
  level: RollupLevel;
  upTo: number;
  until: number;
  chunks: RollupChunk[];
}

export interface RollupResult {
  /** Raw rows (batches) added into the rollups. */
  batches: number;
  /** Distinct keys folded into "other" rows by the caps. */
  keysCut: number;
}

type Level = Pick<RollupPlan, "table" | "level">;

/**
 * Where a raw table's rows and their rolled marks are: a history row carries
 * its own; a monitoring_raw row's are in monitoring_raw_marks (same id; see
 * control/db/schema.ts): SQLite reads, and when it grows rewrites, a whole
 * ~20 KB row to change its mark (measured ~45 µs a row, against ~7 µs for
 * a mark of its own). `r` is the rows' alias and `m` the marks'.
 */
const SOURCES: Record<RawTable, { rows: string; marks: string; nodeTs: string }> = {
  monitoring_raw: { rows: "monitoring_raw_rows", marks: "monitoring_raw_marks", nodeTs: "monitoring_raw_node_ts" },
  interface_history: { rows: "interface_history", marks: "interface_history", nodeTs: "interface_history_node_ts" },
};

/**
 * The table's rows with their marks, read from the marks (`marksFirst`) or
 * from the rows' (node, ts) index; CROSS JOIN keeps that order.
 */
function from(table: RawTable, marksFirst: boolean): string {
  const { rows, marks, nodeTs } = SOURCES[table];
  if (rows === marks) return marksFirst ? `${rows} AS r` : `${rows} AS r INDEXED BY ${nodeTs}`;
  return marksFirst
    ? `${marks} AS m CROSS JOIN ${rows} AS r ON r.id = m.id`
    : `${rows} AS r INDEXED BY ${nodeTs} CROSS JOIN ${marks} AS m ON m.id = r.id`;
}

const notRolled = (p: Level) => notRolledInto(p.level, SOURCES[p.table].rows === SOURCES[p.table].marks ? "r." : "m.");

const SQL = {
  upTo: (p: Level) => `SELECT max(r.id) AS id FROM ${from(p.table, true)} WHERE ${notRolled(p)} AND r.ts <= ?`,
  /** Per node, its raw rows to roll: chunks are cut from this. */
  pending: (p: Level) =>
    `SELECT r.node AS node, count(*) AS n, min(r.ts) AS since FROM ${from(p.table, true)} ` +
    `WHERE ${notRolled(p)} AND r.id <= ? AND r.ts <= ? GROUP BY r.node ORDER BY r.node`,
  /** A chunk's rows; INDEXED BY: left to itself the planner prefers the (rolled, …) index, which holds every pending row. */
  chunk: (p: Level) =>
    `FROM ${from(p.table, false)} ` +
    `WHERE r.node IN (SELECT value FROM json_each(?)) AND r.ts >= ? AND r.ts <= ? AND r.id <= ? AND ${notRolled(p)}`,
  markRolled: (table: RawTable) =>
    `UPDATE ${SOURCES[table].marks} SET rolled = rolled | ? WHERE id IN (SELECT value FROM json_each(?))`,
  deleteRolled: (table: RawTable) => {
    const { rows, marks } = SOURCES[table];
    const rolled = rows === marks ? "rolled" : `(SELECT rolled FROM ${marks} WHERE ${marks}.id = ${rows}.id)`;
    return `DELETE FROM ${rows} WHERE ${rolled} = ${ROLLED_ALL} AND ts <= ?`;
  },
} as const;

/** Deletes the table's rows rolled into every level and reported up to `until`; how many. */
export async function deleteRolled(tx: SqlTransaction, table: RawTable, until: number): Promise<number> {
  return (await tx.execute({ sql: SQL.deleteRolled(table), args: [until] })).rowsAffected;
}

/**
 * The raw rows of `table` not in `level` yet and reported up to `until`,
 * cut into chunks of whole nodes of about `chunkRows` rows.
 */
export async function planChunks(
  tx: SqlTransaction,
  table: RawTable,
  level: RollupLevel,
  until: number,
  chunkRows: number,
): Promise<RollupPlan> {
  const upTo = Number((await tx.execute({ sql: SQL.upTo({ table, level }), args: [until] })).rows[0]?.id ?? 0);
  const chunks: RollupChunk[] = [];
  let current: RollupChunk = { nodes: [], since: Infinity }, size = 0;
  for (const r of (await tx.execute({ sql: SQL.pending({ table, level }), args: [upTo, until] })).rows) {
    if (size > 0 && size + Number(r.n) > chunkRows) {
      chunks.push(current);
      (current = { nodes: [], since: Infinity }), (size = 0);
    }
    current.nodes.push(String(r.node));
    current.since = Math.min(current.since, Number(r.since));
    size += Number(r.n);
  }
  if (size > 0) chunks.push(current);
  return { table, level, upTo, until, chunks };
}

/** The plan's raw rows of the chunk's nodes (id, node, ts and `columns`), oldest first. */
export async function chunkRows(tx: SqlTransaction, plan: RollupPlan, chunk: RollupChunk, columns: string) {
  return (await tx.execute({
    sql: `SELECT r.id AS id, r.node AS node, r.ts AS ts, ${columns} ${SQL.chunk(plan)} ORDER BY r.id`,
    args: chunkArgs(plan, chunk),
  })).rows;
}

/**
 * The same as chunkRows, as one JSON array of [id, node, ts, ...values]: for
 * small rows, where libSQL's converting each value of each result row into
 * JavaScript on its own cost more than the query (interface history: 6 ms
 * for 300 rows, against ~2 ms for the query and one JSON.parse).
 */
export async function chunkRowsJson(
  tx: SqlTransaction,
  plan: RollupPlan,
  chunk: RollupChunk,
  values: string,
): Promise<unknown[][]> {
  const sql = `SELECT json_group_array(json_array(r.id, r.node, r.ts, ${values})) AS rows ${SQL.chunk(plan)}`;
  return JSON.parse(
    String((await tx.execute({ sql, args: chunkArgs(plan, chunk) })).rows[0]?.rows ?? "[]"),
  ) as unknown[][];
}

const chunkArgs = (
  plan: RollupPlan,
  chunk: RollupChunk,
) => [JSON.stringify(chunk.nodes), chunk.since, plan.until, plan.upTo];

/** Marks raw rows as added into the plan's level. */
export async function markRolled(tx: SqlTransaction, plan: RollupPlan, ids: number[]) {
  await tx.execute({ sql: SQL.markRolled(plan.table), args: [ROLLED_BIT[plan.level], JSON.stringify(ids)] });
}
