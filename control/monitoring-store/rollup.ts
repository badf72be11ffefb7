// SPDX-License-Identifier: Apache-2.0
/**
 * Rolls raw rows (monitoring_raw, one per batch) up into the 1 min and 1 h
 * buckets of flow_stats, tcp_stats, drop_stats and drop_service_stats (the
 * part of drop_stats' drops that named a service, per service: read from the
 * same raw drop entries, and only for the keys drop_stats kept, so a key's
 * services never add up to more than its total there).
 *
 * Each raw row is added into each level exactly once: a chunk takes the
 * rows of some nodes not yet in a level, adds their sums into it
 * (upsert-add, so a batch that arrives late, after its minute was rolled,
 * still lands in it) and marks them rolled there (monitoring_raw_marks.rolled
 * is a bit per level), all in one transaction.
 *
 * Why it is shaped like this (measured with the ingest bench at 1,000 nodes
 * × 200 flows every 10 s; see control/bench/ingest.ts):
 * - The upserts are most of the cost, so as many raw rows as possible merge
 *   before one: chunks are by node and take all of a node's rows, so a
 *   node's six batches of a minute make one upsert per key; and the 1 h
 *   level is rolled only for rows up to the last whole ten minutes
 *   (maintenance.ts), sixty batches per upsert instead of six.
 * - Merging happens in JavaScript: grouping in SQL over json_each cost
 *   ~2.7× more.
 * - Chunks are small (CHUNK_RAW_ROWS) and each is its own transaction
 *   through the write queue, so batches are stored between chunks and
 *   ingest latency stays flat while the rollup runs.
 * Caps (control/monitoring/cardinality.ts) apply per (node, bucket) against
 * the keys the bucket already holds.
 */
import type { SqlTransaction } from "../db/prepared.ts";
import { getTableColumns, getTableName } from "drizzle-orm";
import type { SQLiteTable } from "drizzle-orm/sqlite-core";
import { insertJsonRows, type JsonScalar } from "../db/json-rows.ts";
import { dropServiceStats, dropStats, flowStats, tcpStats } from "../db/schema.ts";
import {
  capRows,
  type CardinalityCaps,
  OTHER_DROP_REASON,
  otherDropRow,
  otherFlowRow,
  otherTcpRow,
} from "../monitoring/cardinality.ts";
import { DROP_ROWS } from "../monitoring/drops.ts";
import { FLOW_ROWS } from "../monitoring/flows.ts";
import { bucketOfReport } from "../monitoring/rollup.ts";
import type { RowOps } from "../monitoring/rows.ts";
import { TCP_ROWS } from "../monitoring/tcp.ts";
import {
  DROP_KEYS,
  DROP_SERVICE_AT,
  DROP_SERVICE_KEYS,
  DROP_SERVICE_RAW_AT,
  dropArray,
  FLOW_KEYS,
  flowArray,
  IDENTITY,
  LABEL_KEYS,
  OR_KEYS,
  type RawColumn,
  TCP_KEYS,
  tcpArray,
} from "./layouts.ts";
import {
  chunkRows,
  markRolled,
  type RollupChunk,
  type RollupLevel,
  type RollupPlan,
  type RollupResult,
} from "./raw-chunks.ts";

type Kind = "flows" | "tcp" | "drops" | "dropServices";

/** A stats row on its way in: [node, bucket, ...the kind's keys] (the upsert's layout). */
type Row = JsonScalar[];

/** Where a cap's cut rows go: the node's "other" row, counted in node_monitoring. */
interface OtherSpec {
  /** SQL condition true for every row but the node's "other" row. */
  notOther: string;
  /** The node's "other" row as keys (no node, bucket). */
  array(node: string): JsonScalar[];
  cutColumn: string;
}

interface KindSpec {
  kind: Kind;
  table: SQLiteTable;
  keys: readonly string[];
  identity: number;
  /** Positions in a Row of the counters to sum and to OR, and of the labels (LABEL_KEYS: the latest batch's that has one). */
  sums: number[];
  ors: number[];
  labels: number[];
  source: RawColumn;
  /** A raw entry as this kind's keys, or undefined when it has no part in it (default: as it is). */
  fromRaw?(e: JsonScalar[]): JsonScalar[] | undefined;
  /** Only rows whose leading keys that kind (rolled before) kept rather than cut into its "other" row. */
  within?: Kind;
  /** Without one, a cap leaves the rows it cuts out: `within`'s table holds them in its total. */
  other?: OtherSpec;
  /** Weight of a row for caps, from the typed row's RowOps. */
  weight(r: Row): number;
  cap(caps: CardinalityCaps): number;
}

function spec<R extends object>(
  kind: Kind,
  table: SQLiteTable,
  keys: readonly string[],
  typed: RowOps<R>,
  cap: (caps: CardinalityCaps) => number,
  from: Pick<KindSpec, "source" | "fromRaw" | "within" | "other">,
): KindSpec {
  const identity = IDENTITY[kind];
  const or: readonly string[] = OR_KEYS[kind];
  const labels: readonly string[] = LABEL_KEYS[kind];
  const counters = keys.map((k, i) => ({ k, at: i + 2 })).slice(identity).filter((c) => !labels.includes(c.k));
  return {
    kind,
    table,
    keys,
    identity,
    cap,
    ...from,
    sums: counters.filter((c) => !or.includes(c.k)).map((c) => c.at),
    ors: counters.filter((c) => or.includes(c.k)).map((c) => c.at),
    labels: keys.map((k, i) => ({ k, at: i + 2 })).filter((c) => labels.includes(c.k)).map((c) => c.at),
    weight: (r) => typed.weight(Object.fromEntries(keys.map((k, i) => [k, r[i + 2]])) as R),
  };
}

/** The per-service part of a raw drop entry, in DROP_SERVICE_KEYS' order; none when it names no service. */
function dropServicePart(e: JsonScalar[]): JsonScalar[] | undefined {
  return e[DROP_SERVICE_AT] ? DROP_SERVICE_RAW_AT.map((i) => e[i]!) : undefined;
}

/** The per-service drop rows weigh as drop rows do, by packets (spec() takes only a RowOps' weight). */
const DROP_SERVICE_ROWS: RowOps<{ packets: number }> = { key: () => "", add: (a) => a, weight: (r) => r.packets };

const KINDS: readonly KindSpec[] = [
  spec("flows", flowStats, FLOW_KEYS, FLOW_ROWS, (c) => c.flows, {
    source: "flows",
    other: {
      array: (n) => flowArray(otherFlowRow(n)),
      // A pod's "other" row (an agent's cap summed its peers) has one "other" end: a key like any other.
      notOther: "(client != 'other' OR server != 'other')",
      cutColumn: "flow_keys_cut",
    },
  }),
  spec("tcp", tcpStats, TCP_KEYS, TCP_ROWS, (c) => c.tcp, {
    source: "tcp",
    other: { array: (n) => tcpArray(otherTcpRow(n)), notOther: "local != 'other'", cutColumn: "tcp_keys_cut" },
  }),
  spec("drops", dropStats, DROP_KEYS, DROP_ROWS, (c) => c.drops, {
    source: "drops",
    other: {
      // The raw entry's trailing service (DROP_SERVICE_AT) is not among DROP_KEYS: drop_stats sums over it.
      array: (n) => dropArray(otherDropRow(n)).slice(0, DROP_KEYS.length),
      notOther: `(reason != '${OTHER_DROP_REASON}' OR pod != '' OR ifname != '')`,
      cutColumn: "drop_keys_cut",
    },
  }),
  // After "drops": a key it cut into its "other" row has no service part, so the difference stays >= 0.
  // Capped like drops; what the cap cuts stays in drop_stats' total, shown as no service.
  spec("dropServices", dropServiceStats, DROP_SERVICE_KEYS, DROP_SERVICE_ROWS, (c) => c.drops, {
    source: "drops",
    fromRaw: dropServicePart,
    within: "drops",
  }),
];

/** The identity part of a row (keys only, no node or bucket) as one string; its first `n` keys with `n`. */
const identityOf = (k: KindSpec, r: readonly JsonScalar[], from: number, n = k.identity) => {
  let s = String(r[from]);
  for (let i = 1; i < n; i++) s += "|" + String(r[from + i]);
  return s;
};

/** Adds `from`'s counters into `into`; `from` is a Row, or with `shift` 2 a raw entry (keys only, no node or bucket). */
function add(k: KindSpec, into: Row, from: readonly JsonScalar[], shift = 0) {
  for (const i of k.sums) (into[i] as number) += from[i - shift] as number;
  for (const i of k.ors) (into[i] as number) |= from[i - shift] as number;
}

/** Rows of one level by (bucket, node, identity): the primary key's order after `level`. */
function cmpRows(k: KindSpec, a: Row, b: Row): number {
  for (let i = 0; i < k.identity + 2; i++) {
    const j = i === 0 ? 1 : i === 1 ? 0 : i;
    const x = a[j]!, y = b[j]!;
    if (x !== y) return x < y ? -1 : 1;
  }
  return 0;
}

const notOther = (k: KindSpec) => k.other?.notOther ?? "true";

const column = (table: SQLiteTable, key: string) => `"${getTableColumns(table)[key]!.name}"`;

const SQL = {
  storedCounts: (k: KindSpec) =>
    `SELECT node, count(*) AS n FROM "${
      getTableName(k.table)
    }" WHERE level = ? AND bucket = ? AND node IN (SELECT value FROM json_each(?)) AND ${notOther(k)} GROUP BY node`,
  storedKeys: (k: KindSpec) =>
    `SELECT json_group_array(${
      k.keys.slice(0, k.identity).map((key) => column(k.table, key)).join(" || '|' || ")
    }) AS keys ` +
    `FROM "${getTableName(k.table)}" WHERE level = ? AND bucket = ? AND node = ? AND ${notOther(k)}`,
  cut: (col: string) =>
    `INSERT INTO node_monitoring (node, ${col}, updated_at) VALUES (?, ?, ?) ` +
    `ON CONFLICT (node) DO UPDATE SET ${col} = ${col} + excluded.${col}, updated_at = excluded.updated_at`,
} as const;

/** Raw rows per transaction, about: bounds how long one chunk holds the database (tens of ms). */
export const CHUNK_RAW_ROWS = 30;

/** Rolls one chunk of a plan: the nodes' raw rows of the plan into its level. */
export async function rollupChunk(
  tx: SqlTransaction,
  plan: RollupPlan,
  chunk: RollupChunk,
  caps: CardinalityCaps,
  now: number,
): Promise<RollupResult> {
  const { level } = plan;
  const raw = await chunkRows(tx, plan, chunk, "flows, tcp, drops");
  if (raw.length === 0) return { batches: 0, keysCut: 0 };
  let keysCut = 0;
  // Per kind, "bucket|node|identity" of the rows its caps cut into "other".
  const cutBy = new Map<Kind, Set<string>>();
  // Each raw column parsed once: two kinds read the drops (the second through dropServicePart, which copies).
  const parsed = new Map<string, JsonScalar[][]>();
  const entriesOf = (r: (typeof raw)[number], source: RawColumn) => {
    const key = `${String(r.id)}|${source}`;
    let entries = parsed.get(key);
    if (entries === undefined) parsed.set(key, entries = JSON.parse(String(r[source])) as JsonScalar[][]);
    return entries;
  };
  for (const k of KINDS) {
    // "bucket|node" → identity → row
    const groups = new Map<string, Map<string, Row>>();
    const cutWithin = k.within === undefined ? undefined : cutBy.get(k.within)!;
    const withinIdentity = k.within === undefined ? 0 : IDENTITY[k.within];
    for (const r of raw) {
      const node = String(r.node);
      const entries = entriesOf(r, k.source);
      if (entries.length === 0) continue;
      const bucket = bucketOfReport(level, Number(r.ts));
      const groupKey = `${bucket}|${node}`;
      let group = groups.get(groupKey);
      for (const entry of entries) {
        const e = k.fromRaw === undefined ? entry : k.fromRaw(entry);
        if (e === undefined) continue;
        if (cutWithin?.has(`${groupKey}|${identityOf(k, e, 0, withinIdentity)}`)) continue;
        if (group === undefined) groups.set(groupKey, group = new Map());
        // An entry stored before a label existed lacks it (LABEL_KEYS): "" as the column's default.
        for (const i of k.labels) e[i - 2] ??= "";
        const id = identityOf(k, e, 0);
        const had = group.get(id);
        if (had === undefined) group.set(id, [node, bucket, ...e]);
        else {
          add(k, had, e, 2);
          // The same key's later batch: its labels, as the upsert does (rows come in id order), unless empty
          // (a replica of an older version, during a rolling upgrade, stores none).
          for (const i of k.labels) had[i] = e[i - 2] || had[i]!;
        }
      }
    }
    const upserted = await upsertLevel(tx, k, level, groups, k.cap(caps), now);
    keysCut += upserted.keysCut;
    cutBy.set(k.kind, upserted.cut);
  }
  await markRolled(tx, plan, raw.map((r) => Number(r.id)));
  return { batches: raw.length, keysCut };
}

/** A group is keyed "bucket|node" (node names cannot contain "|"). */
function splitGroupKey(groupKey: string): { bucket: number; node: string } {
  const bar = groupKey.indexOf("|");
  return { bucket: Number(groupKey.slice(0, bar)), node: groupKey.slice(bar + 1) };
}

async function upsertLevel(
  tx: SqlTransaction,
  k: KindSpec,
  level: RollupLevel,
  groups: Map<string, Map<string, Row>>,
  cap: number,
  now: number,
): Promise<{ keysCut: number; cut: Set<string> }> {
  const cutRows = new Set<string>();
  if (groups.size === 0) return { keysCut: 0, cut: cutRows };
  // How many keys each (bucket, node) already stores, one query per bucket.
  const stored = new Map<string, number>();
  const nodesByBucket = new Map<number, string[]>();
  for (const groupKey of groups.keys()) {
    const { bucket, node } = splitGroupKey(groupKey);
    let nodes = nodesByBucket.get(bucket);
    if (nodes === undefined) nodesByBucket.set(bucket, nodes = []);
    nodes.push(node);
  }
  for (const [bucket, nodes] of nodesByBucket) {
    for (
      const r of (await tx.execute({ sql: SQL.storedCounts(k), args: [level, bucket, JSON.stringify(nodes)] })).rows
    ) {
      stored.set(`${bucket}|${String(r.node)}`, Number(r.n));
    }
  }

  const out: Row[] = [];
  const cuts = new Map<string, number>();
  for (const [groupKey, group] of groups) {
    if (group.size + (stored.get(groupKey) ?? 0) <= cap) {
      for (const r of group.values()) out.push(r);
      continue;
    }
    const { bucket, node } = splitGroupKey(groupKey);
    const storedJson = (await tx.execute({ sql: SQL.storedKeys(k), args: [level, bucket, node] })).rows[0]?.keys;
    const otherRow: Row = [node, bucket, ...(k.other?.array(node) ?? k.keys.map(() => 0))];
    const otherId = k.other && identityOf(k, otherRow, 2);
    // A raw "other" row (cut at ingest) joins this bucket's "other"; it is not a key to rank.
    const rawOther = otherId === undefined ? undefined : group.get(otherId);
    if (otherId !== undefined) group.delete(otherId);
    // capRows copies rows with object spread, so arrays travel wrapped.
    type Wrapped = { r: Row };
    const ops: RowOps<Wrapped> = {
      key: (w) => identityOf(k, w.r, 2),
      add: (a, b) => (add(k, a.r, b.r), a),
      weight: (w) => k.weight(w.r),
    };
    const storedKeys = new Set(JSON.parse(String(storedJson ?? "[]")) as string[]);
    const result = capRows([...group.values()].map((r) => ({ r })), storedKeys, cap, ops, { r: otherRow });
    out.push(...result.kept.map((w) => w.r));
    const kept = new Set(result.kept.map((w) => ops.key(w)));
    for (const id of group.keys()) if (!kept.has(id)) cutRows.add(`${groupKey}|${id}`);
    if (k.other === undefined) continue;
    const other = result.other?.r ?? (rawOther ? otherRow : undefined);
    if (rawOther) add(k, other!, rawOther);
    if (other) out.push(other);
    if (result.cutKeys > 0) cuts.set(node, (cuts.get(node) ?? 0) + result.cutKeys);
  }

  // In primary-key order, so the upsert walks the index forwards instead of jumping around it.
  out.sort((a, b) => cmpRows(k, a, b));
  type Key = keyof typeof flowStats.$inferInsert;
  await tx.execute(
    insertJsonRows(k.table, {
      rows: { keys: ["node", "bucket", ...k.keys] as Key[], json: JSON.stringify(out) },
      shared: { level } as Record<Key, JsonScalar>,
      upsertOn: ["level", "bucket", "node", ...k.keys.slice(0, k.identity)] as Key[],
      add: k.sums.map((i) => k.keys[i - 2]) as Key[],
      or: k.ors.map((i) => k.keys[i - 2]) as Key[],
      fill: k.labels.map((i) => k.keys[i - 2]) as Key[],
    }),
  );
  for (const [node, n] of cuts) await tx.execute({ sql: SQL.cut(k.other!.cutColumn), args: [node, n, now] });
  return { keysCut: [...cuts.values()].reduce((a, b) => a + b, 0), cut: cutRows };
}
