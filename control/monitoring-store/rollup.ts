/**
 * Rolls raw rows (monitoring_raw, one per batch) up into the 1 min and 1 h
 * buckets of flow_stats, tcp_stats and drop_stats.
 *
 * Each raw row is added in exactly once: a pass takes the rows not rolled
 * yet (up to a limit), adds their sums into both levels (upsert-add, so a
 * batch that arrives late, after its minute was rolled, still lands in it)
 * and marks them rolled, all in one transaction. The merging happens in
 * SQLite (GROUP BY over json_each); JavaScript only sees a (node, bucket)
 * group when it may exceed the cardinality cap, and then caps it with
 * control/monitoring/cardinality.ts against the keys the bucket already holds.
 */
import type { Transaction } from "@libsql/client";
import { getTableColumns, getTableName } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import { insertJsonRows, type JsonScalar } from "../db/json-rows.ts";
import { dropStats, flowStats, tcpStats } from "../db/schema.ts";
import { capRows, OTHER_DROP_REASON, otherDropRow, otherFlowRow, otherTcpRow, type CardinalityCaps } from "../monitoring/cardinality.ts";
import { DROP_ROWS } from "../monitoring/drops.ts";
import { FLOW_ROWS } from "../monitoring/flows.ts";
import { BUCKET_MS } from "../monitoring/rollup.ts";
import type { RowOps } from "../monitoring/rows.ts";
import { TCP_ROWS } from "../monitoring/tcp.ts";
import { DROP_KEYS, dropArray, FLOW_KEYS, flowArray, IDENTITY, OR_KEYS, orAggregate, TCP_KEYS, tcpArray } from "./layouts.ts";

type Kind = "flows" | "tcp" | "drops";
type Level = "1m" | "1h";
const LEVELS: readonly Level[] = ["1m", "1h"];

interface KindSpec {
  table: SQLiteTable;
  /** Column of monitoring_raw holding this kind's rows. */
  rawColumn: string;
  keys: readonly string[];
  identity: number;
  or: readonly string[];
  /** SQL condition true for every row but the node's "other" row. */
  notOther: string;
  /** The typed row behind an array (for weights), and the node's "other" row as an array. */
  ops: RowOps<Record<string, unknown>>;
  otherArray(node: string): JsonScalar[];
  cap(caps: CardinalityCaps): number;
  cutColumn: string;
}

const asObject = (keys: readonly string[], a: readonly unknown[]) => Object.fromEntries(keys.map((k, i) => [k, a[i]]));

function spec<R extends object>(
  table: SQLiteTable,
  rawColumn: Kind,
  keys: readonly string[],
  typed: RowOps<R>,
  otherArray: (node: string) => JsonScalar[],
  notOther: string,
  cap: (caps: CardinalityCaps) => number,
  cutColumn: string,
): KindSpec {
  const identity = IDENTITY[rawColumn];
  const or: readonly string[] = OR_KEYS[rawColumn];
  return {
    table, rawColumn, keys, identity, or, notOther, otherArray, cap, cutColumn,
    // Rows here are arrays [node, bucket, ...keys]; merged only within one (node, bucket).
    ops: {
      key: (r) => (r.a as unknown[]).slice(2, 2 + identity).join("|"),
      add: (x, y) => {
        const a = x.a as number[], b = y.a as number[];
        keys.forEach((k, i) => {
          if (i < identity) return;
          a[i + 2] = or.includes(k) ? a[i + 2]! | b[i + 2]! : a[i + 2]! + b[i + 2]!;
        });
        return x;
      },
      weight: (r) => typed.weight(asObject(keys, (r.a as unknown[]).slice(2)) as R),
    },
  };
}

const KINDS: readonly KindSpec[] = [
  spec(flowStats, "flows", FLOW_KEYS, FLOW_ROWS, (n) => flowArray(otherFlowRow(n)), "client != 'other'", (c) => c.flows, "flow_keys_cut"),
  spec(tcpStats, "tcp", TCP_KEYS, TCP_ROWS, (n) => tcpArray(otherTcpRow(n)), "local != 'other'", (c) => c.tcp, "tcp_keys_cut"),
  spec(dropStats, "drops", DROP_KEYS, DROP_ROWS, (n) => dropArray(otherDropRow(n)), `reason != '${OTHER_DROP_REASON}'`, (c) => c.drops, "drop_keys_cut"),
];

const column = (table: SQLiteTable, key: string) => getTableColumns(table)[key]!.name;

/** Groups of (node, bucket) of the unrolled raw rows up to an id, merged per key, with how many keys each bucket already stores. */
function groupsSql(k: KindSpec): string {
  const ids = k.keys.slice(0, k.identity).map((_, i) => `j.value ->> ${i}`);
  const counters = k.keys.slice(k.identity).map((key, n) => {
    const i = k.identity + n;
    return k.or.includes(key) ? orAggregate(`j.value ->> ${i}`) : `sum(j.value ->> ${i})`;
  });
  const table = getTableName(k.table);
  // CAST: libSQL binds JavaScript numbers as reals, and real division would not floor.
  const bucket = "(r.ts - 1) / CAST(?2 AS INTEGER) * CAST(?2 AS INTEGER)";
  return (
    `SELECT g.node AS node, g.bucket AS bucket, count(*) AS n, json_group_array(json(g.row)) AS rows, ` +
    `(SELECT count(*) FROM "${table}" s WHERE s.level = ?1 AND s.bucket = g.bucket AND s.node = g.node AND s.${k.notOther}) AS stored ` +
    `FROM (SELECT r.node AS node, ${bucket} AS bucket, ` +
    `json_array(r.node, ${bucket}, ${[...ids, ...counters].join(", ")}) AS row ` +
    `FROM monitoring_raw r, json_each(r.${k.rawColumn}) j WHERE r.rolled = 0 AND r.id <= ?3 ` +
    `GROUP BY r.node, bucket, ${ids.join(", ")}) g GROUP BY g.node, g.bucket`
  );
}

function storedKeysSql(k: KindSpec): string {
  const ids = k.keys.slice(0, k.identity).map((key) => `"${column(k.table, key)}"`);
  return `SELECT json_group_array(${ids.join(" || '|' || ")}) AS keys FROM "${getTableName(k.table)}" WHERE level = ? AND bucket = ? AND node = ? AND ${k.notOther}`;
}

const SQL = {
  upTo: "SELECT max(id) AS id, count(*) AS n FROM (SELECT id FROM monitoring_raw WHERE rolled = 0 ORDER BY id LIMIT ?)",
  markRolled: "UPDATE monitoring_raw SET rolled = 1 WHERE rolled = 0 AND id <= ?",
  cut: (col: string) =>
    `INSERT INTO node_monitoring (node, ${col}, updated_at) VALUES (?, ?, ?) ` +
    `ON CONFLICT (node) DO UPDATE SET ${col} = ${col} + excluded.${col}, updated_at = excluded.updated_at`,
} as const;

export interface RollupResult {
  /** Raw rows (batches) added into the rollups. */
  batches: number;
  /** Distinct keys folded into "other" rows by the caps. */
  keysCut: number;
}

/** One pass over at most `limit` unrolled raw rows. */
export async function rollupPass(tx: Transaction, caps: CardinalityCaps, now: number, limit: number): Promise<RollupResult> {
  const head = (await tx.execute({ sql: SQL.upTo, args: [limit] })).rows[0];
  const batches = Number(head?.n ?? 0);
  if (batches === 0) return { batches, keysCut: 0 };
  const upTo = Number(head!.id);
  let keysCut = 0;
  for (const k of KINDS) {
    for (const level of LEVELS) keysCut += await rollKind(tx, k, level, upTo, k.cap(caps), now);
  }
  await tx.execute({ sql: SQL.markRolled, args: [upTo] });
  return { batches, keysCut };
}

async function rollKind(tx: Transaction, k: KindSpec, level: Level, upTo: number, cap: number, now: number): Promise<number> {
  const groups = (await tx.execute({ sql: groupsSql(k), args: [level, BUCKET_MS[level], upTo] })).rows;
  const pieces: string[] = [];
  const cuts = new Map<string, number>();
  for (const g of groups) {
    const rows = String(g.rows);
    // The common case: the bucket cannot go over the cap, the merged rows go in as SQLite made them.
    if (Number(g.n) + Number(g.stored) <= cap) {
      if (rows.length > 2) pieces.push(rows.slice(1, -1));
      continue;
    }
    const node = String(g.node), bucket = Number(g.bucket);
    const storedJson = (await tx.execute({ sql: storedKeysSql(k), args: [level, bucket, node] })).rows[0]?.keys;
    const stored = new Set(JSON.parse(String(storedJson ?? "[]")) as string[]);
    const wrap = (a: unknown[]) => ({ a });
    const all = (JSON.parse(rows) as unknown[][]).map(wrap);
    const other = [node, bucket, ...k.otherArray(node)];
    const { kept, other: folded, cutKeys } = capRows(
      all.filter((r) => k.ops.key(r) !== k.ops.key(wrap(other))),
      stored,
      cap,
      k.ops,
      wrap([...other]),
    );
    // A raw "other" row (cut at ingest) joins this bucket's "other".
    const rawOther = all.find((r) => k.ops.key(r) === k.ops.key(wrap(other)));
    const otherRow = folded ?? (rawOther ? wrap([...other]) : undefined);
    if (rawOther) k.ops.add(otherRow!, rawOther);
    const out = [...kept, ...(otherRow ? [otherRow] : [])].map((r) => JSON.stringify(r.a));
    if (out.length > 0) pieces.push(out.join(","));
    if (cutKeys > 0) cuts.set(node, (cuts.get(node) ?? 0) + cutKeys);
  }
  if (pieces.length > 0) {
    const keys = ["node", "bucket", ...k.keys];
    const counters = k.keys.slice(k.identity);
    type Key = keyof typeof flowStats.$inferInsert;
    await tx.execute(
      insertJsonRows(k.table, {
        rows: { keys: keys as Key[], json: `[${pieces.join(",")}]` },
        shared: { level } as Record<Key, JsonScalar>,
        upsertOn: ["level", "bucket", "node", ...k.keys.slice(0, k.identity)] as Key[],
        add: counters.filter((c) => !k.or.includes(c)) as Key[],
        or: k.or as Key[],
      }),
    );
  }
  for (const [node, n] of cuts) await tx.execute({ sql: SQL.cut(k.cutColumn), args: [node, n, now] });
  return [...cuts.values()].reduce((a, b) => a + b, 0);
}
