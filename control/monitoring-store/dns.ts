// SPDX-License-Identifier: Apache-2.0
/**
 * DNS records of a batch (Batch.dns, wire version 6) into dns_server_stats and dns_name_stats, in the batch's
 * transaction: per (node, pod, server, port) and per (node, pod, name), at the raw level (the batch's report
 * time as its bucket) and in its 1 min and 1 h buckets at once. Adding into all three levels at ingest keeps the
 * levels exact by construction (a late batch lands in its buckets like any other) without a raw column to roll;
 * retention prunes the three levels as the flow tables' (maintenance.ts). Sums saturate (counter-sums.ts).
 * The node's servers summed are added to dns_node_totals too (never pruned: /metrics' counters only grow).
 * Capped per node and bucket at each level as flows are (caps dnsNames, dnsServers: storeDns).
 */
import { getTableName } from "drizzle-orm";
import { endpointKey, type PodEndpoint, type PodIndex, podOfUid } from "../monitoring/attribution.ts";
import { addExcluded, MAX_COUNT } from "../db/counter-sums.ts";
import type { SqlTransaction } from "../db/prepared.ts";
import { dnsNameStats, dnsNodeTotals, dnsServerStats } from "../db/schema.ts";
import { capRows, type CardinalityCaps, DEFAULT_CAPS } from "../monitoring/cardinality.ts";
import {
  DNS_QUERY_COLUMNS,
  DNS_RESPONSE_COLUMNS,
  DNS_SERVER_COUNTERS,
  dnsServerCounts,
} from "../monitoring/dns-counters.ts";
import { bucketOfReport, LEVELS } from "../monitoring/rollup.ts";
import type { RowOps } from "../monitoring/rows.ts";
import { DNS_OTHER_NAME, type DnsRecords } from "../wire/dns.ts";
import { OTHER_PEER } from "../wire/monitoring.ts";

/** The stored pod of a record: the endpointKey of a pod ("pod:<uid>", as flows store it), "" for none. */
export const dnsPodKey = (uid: string | undefined) =>
  uid === undefined ? "" : endpointKey({ kind: "pod", uid, namespace: "", name: "", node: "" });

/** Every pod the records name, once, as the directory knows it (names for the endpoints table). */
export function dnsPodsOf(directory: PodIndex, node: string, dns: DnsRecords): PodEndpoint[] {
  const uids = new Set<string>();
  for (const r of [...dns.servers, ...dns.names]) if (r.pod !== undefined) uids.add(r.pod);
  return [...uids].map((uid) => podOfUid(directory, uid, node));
}

type Row = (string | number)[];

/** One upsert of rows [level, bucket, node, ...keys, ...counters] that adds the counters, saturating. */
function upsert(table: string, keys: readonly string[], counters: readonly string[]): string {
  const columns = ["level", "bucket", "node", ...keys, ...counters];
  return `INSERT INTO ${table} (${columns.join(", ")}) SELECT ${
    columns.map((_, i) => `value ->> ${i}`).join(", ")
  } FROM json_each(?) WHERE true ON CONFLICT (level, bucket, node, ${keys.join(", ")}) DO UPDATE SET ${
    addExcluded(...counters)
  }`;
}

/**
 * In one (level, bucket, node), args [level, bucket, node, ...sink key, JSON of the batch's keys]: how many keys
 * the node stores there (its "other" row not counted) and which of the batch's keys (their indexes) are among
 * them. Both walk the primary key: the count one node's range of the bucket (at most cap + 1 rows), the lookups
 * one probe per batch key, so the bucket is never read whole.
 */
function storedQuery(table: string, keys: readonly string[]): string {
  const inBucket = "level = ?1 AND bucket = ?2 AND node = ?3";
  const isSink = keys.map((k, i) => `${k} = ?${4 + i}`).join(" AND ");
  const isBatchKey = keys.map((k, i) => `${k} = j.value ->> ${i}`).join(" AND ");
  return `SELECT (SELECT count(*) FROM ${table} WHERE ${inBucket} AND NOT (${isSink})) AS n, ` +
    `(SELECT json_group_array(j.key) FROM json_each(?${4 + keys.length}) AS j ` +
    `WHERE EXISTS (SELECT 1 FROM ${table} WHERE ${inBucket} AND ${isBatchKey})) AS stored`;
}

/** A DNS table as the cap sees it. */
interface DnsTable {
  keys: readonly string[];
  counters: readonly string[];
  /**
   * The node's "other" key: the one an agent sums its own caps into for the node (no pod), so the control plane's
   * cut merges with the agent's and the node's total stays exact.
   */
  sink: Row;
  /** Rows over the cap rank by this, heaviest kept. */
  weight(r: Row): number;
  cap(caps: CardinalityCaps): number;
  upsert: string;
  stored: string;
}

function dnsTable(t: Omit<DnsTable, "upsert" | "stored">, table: string): DnsTable {
  return { ...t, upsert: upsert(table, t.keys, t.counters), stored: storedQuery(table, t.keys) };
}

const NAME_KEYS = ["pod", "name"] as const;
const NAMES = dnsTable({
  keys: NAME_KEYS,
  counters: ["queries", "nxdomain"],
  sink: ["", DNS_OTHER_NAME],
  weight: (r) => r[NAME_KEYS.length] as number,
  cap: (caps) => caps.dnsNames,
}, getTableName(dnsNameStats));

const SERVER_KEYS = ["pod", "server", "port"] as const;
/** A server row weighs its queries and answers: the DNS messages it stands for. */
const MESSAGE_AT = [...DNS_QUERY_COLUMNS, ...DNS_RESPONSE_COLUMNS].map((c) =>
  SERVER_KEYS.length + DNS_SERVER_COUNTERS.indexOf(c)
);
const SERVERS = dnsTable({
  keys: SERVER_KEYS,
  counters: DNS_SERVER_COUNTERS,
  sink: ["", OTHER_PEER, 0],
  weight: (r) => MESSAGE_AT.reduce((sum, i) => sum + (r[i] as number), 0),
  cap: (caps) => caps.dnsServers,
}, getTableName(dnsServerStats));

const TOTALS = `INSERT INTO ${getTableName(dnsNodeTotals)} (node, ${DNS_SERVER_COUNTERS.join(", ")}) VALUES (${
  ["?", ...DNS_SERVER_COUNTERS.map(() => "?")].join(", ")
}) ON CONFLICT (node) DO UPDATE SET ${addExcluded(...DNS_SERVER_COUNTERS)}`;

/** Adds `from`'s counters (from index `at` on) into `into`'s, saturating. */
function addCounts(into: Row, from: Row, at: number): void {
  for (let i = at; i < from.length; i++) into[i] = Math.min((into[i] as number) + (from[i] as number), MAX_COUNT);
}

/** Sums rows with the same leading `identity` values (a batch may repeat a key), saturating. */
function merged(rows: readonly Row[], identity: number): Row[] {
  const out = new Map<string, Row>();
  for (const r of rows) {
    const key = JSON.stringify(r.slice(0, identity));
    const had = out.get(key);
    if (had === undefined) out.set(key, [...r]);
    else addCounts(had, r, identity);
  }
  return [...out.values()];
}

/** Keys summed into the node's "other" rows by the caps, over all levels. */
export interface DnsKeysCut {
  names: number;
  servers: number;
}

/**
 * Stores a batch's DNS records of `node` reported at `ts` at every level, and adds them to the node's totals.
 * Per level, the node's bucket keeps at most `caps` distinct keys besides its "other" row: the keys it already
 * has always add, new ones get the room left heaviest first (ties by key, capRows), the rest is summed into the
 * node's "other" row of that bucket (totals stay exact). A raw bucket is one batch, a 1 min or 1 h one gathers
 * many, so a batch can be cut differently per level.
 */
export async function storeDns(
  tx: SqlTransaction,
  node: string,
  ts: number,
  dns: DnsRecords,
  caps: CardinalityCaps = DEFAULT_CAPS,
): Promise<DnsKeysCut> {
  const servers = merged(
    dns.servers.map((r) => [dnsPodKey(r.pod), r.server, r.port, ...dnsServerCounts(r)]),
    SERVER_KEYS.length,
  );
  const names = merged(dns.names.map((r) => [dnsPodKey(r.pod), r.name, r.queries, r.nxdomain]), NAME_KEYS.length);
  // Every server row of the batch summed into one: the node's totals.
  const [totals] = merged(servers.map((r) => r.slice(SERVER_KEYS.length)), 0);
  if (totals !== undefined) await tx.execute({ sql: TOTALS, args: [node, ...totals] });
  const cut = { servers: 0, names: 0 };
  for (const [kind, t, rows] of [["servers", SERVERS, servers], ["names", NAMES, names]] as const) {
    if (rows.length === 0) continue;
    const all: Row[] = [];
    for (const level of LEVELS) {
      const bucket = bucketOfReport(level, ts);
      const capped = await capBucket(tx, t, [level, bucket, node], rows, t.cap(caps));
      cut[kind] += capped.cutKeys;
      for (const r of capped.rows) all.push([level, bucket, node, ...r]);
    }
    await tx.execute({ sql: t.upsert, args: [JSON.stringify(all)] });
  }
  return cut;
}

/** One (level, bucket, node)'s rows of a batch, capped: what to add, with the node's "other" row if any. */
async function capBucket(
  tx: SqlTransaction,
  t: DnsTable,
  bucket: [string, number, string],
  rows: readonly Row[],
  cap: number,
): Promise<{ rows: Row[]; cutKeys: number }> {
  const n = t.keys.length;
  const keyOf = (r: Row) => JSON.stringify(r.slice(0, n));
  const sinkKey = keyOf(t.sink);
  // The batch's own "other" row (an agent's cap) is no key to rank: it joins the bucket's "other" row.
  const batchSink = rows.find((r) => keyOf(r) === sinkKey);
  const keyed = batchSink === undefined ? rows : rows.filter((r) => r !== batchSink);
  const found = (await tx.execute({
    sql: t.stored,
    args: [...bucket, ...t.sink, JSON.stringify(keyed.map((r) => r.slice(0, n)))],
  })).rows[0]!;
  const existing = new Set((JSON.parse(String(found.stored)) as number[]).map((i) => keyOf(keyed[i]!)));
  // capRows copies rows with object spread, so arrays travel wrapped (and the "other" row is made here, fresh).
  type Wrapped = { r: Row };
  const ops: RowOps<Wrapped> = {
    key: (w) => keyOf(w.r),
    add: (a, b) => (addCounts(a.r, b.r, n), a),
    weight: (w) => t.weight(w.r),
  };
  const sink: Row = [...t.sink, ...t.counters.map(() => 0)];
  const result = capRows(keyed.map((r) => ({ r })), { size: Number(found.n), has: (k) => existing.has(k) }, cap, ops, {
    r: sink,
  });
  const out = result.kept.map((w) => w.r);
  if (batchSink !== undefined) addCounts(sink, batchSink, n);
  if (result.other !== undefined || batchSink !== undefined) out.push(sink);
  return { rows: out, cutKeys: result.cutKeys };
}
