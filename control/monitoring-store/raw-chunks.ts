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
import type { Transaction } from "@libsql/client";
import { notRolledInto, ROLLED_BIT } from "./layouts.ts";

export type RollupLevel = "1m" | "1h";

/** Tables of raw rows (one per batch, with a `rolled` bit set per level, layouts.ts). */
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

const SQL = {
  upTo: (p: Level) => `SELECT max(id) AS id FROM ${p.table} WHERE ${notRolledInto(p.level)} AND ts <= ?`,
  /** Per node, its raw rows to roll: chunks are cut from this. */
  pending: (p: Level) =>
    `SELECT node, count(*) AS n, min(ts) AS since FROM ${p.table} WHERE ${notRolledInto(p.level)} AND id <= ? AND ts <= ? GROUP BY node ORDER BY node`,
  /** A chunk's rows; INDEXED BY: left to itself the planner prefers the (rolled, …) index, which holds every pending row. */
  chunk: (p: Level) =>
    `FROM ${p.table} INDEXED BY ${p.table}_node_ts ` +
    `WHERE node IN (SELECT value FROM json_each(?)) AND ts >= ? AND ts <= ? AND id <= ? AND ${notRolledInto(p.level)}`,
  markRolled: (table: RawTable) => `UPDATE ${table} SET rolled = rolled | ? WHERE id IN (SELECT value FROM json_each(?))`,
} as const;

/**
 * The raw rows of `table` not in `level` yet and reported up to `until`,
 * cut into chunks of whole nodes of about `chunkRows` rows.
 */
export async function planChunks(tx: Transaction, table: RawTable, level: RollupLevel, until: number, chunkRows: number): Promise<RollupPlan> {
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
export async function chunkRows(tx: Transaction, plan: RollupPlan, chunk: RollupChunk, columns: string) {
  return (await tx.execute({ sql: `SELECT id, node, ts, ${columns} ${SQL.chunk(plan)} ORDER BY id`, args: chunkArgs(plan, chunk) })).rows;
}

/**
 * The same as chunkRows, as one JSON array of [id, node, ts, ...values]: for
 * small rows, where libSQL's converting each value of each result row into
 * JavaScript on its own cost more than the query (interface history: 6 ms
 * for 300 rows, against ~2 ms for the query and one JSON.parse).
 */
export async function chunkRowsJson(tx: Transaction, plan: RollupPlan, chunk: RollupChunk, values: string): Promise<unknown[][]> {
  const sql = `SELECT json_group_array(json_array(id, node, ts, ${values})) AS rows ${SQL.chunk(plan)}`;
  return JSON.parse(String((await tx.execute({ sql, args: chunkArgs(plan, chunk) })).rows[0]?.rows ?? "[]")) as unknown[][];
}

const chunkArgs = (plan: RollupPlan, chunk: RollupChunk) => [JSON.stringify(chunk.nodes), chunk.since, plan.until, plan.upTo];

/** Marks raw rows as added into the plan's level. */
export async function markRolled(tx: Transaction, plan: RollupPlan, ids: number[]) {
  await tx.execute({ sql: SQL.markRolled(plan.table), args: [ROLLED_BIT[plan.level], JSON.stringify(ids)] });
}
