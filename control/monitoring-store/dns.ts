/**
 * DNS records of a batch (Batch.dns, wire version 6) into dns_server_stats and dns_name_stats, in the batch's
 * transaction: per (node, pod, server, port) and per (node, pod, name), at the raw level (the batch's report
 * time as its bucket) and in its 1 min and 1 h buckets at once. Adding into all three levels at ingest keeps the
 * levels exact by construction (a late batch lands in its buckets like any other) without a raw column to roll;
 * retention prunes the three levels as the flow tables' (maintenance.ts). Sums saturate (counter-sums.ts).
 * The node's servers summed are added to dns_node_totals too (never pruned: /metrics' counters only grow).
 */
import { getTableName } from "drizzle-orm";
import { endpointKey, type PodEndpoint, type PodIndex, podOfUid } from "../monitoring/attribution.ts";
import { addExcluded, MAX_COUNT } from "../db/counter-sums.ts";
import type { SqlTransaction } from "../db/prepared.ts";
import { dnsNameStats, dnsNodeTotals, dnsServerStats } from "../db/schema.ts";
import { DNS_SERVER_COUNTERS, dnsServerCounts } from "../monitoring/dns-counters.ts";
import { bucketOfReport, LEVELS } from "../monitoring/rollup.ts";
import type { DnsRecords } from "../wire/dns.ts";

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

const SQL = {
  servers: upsert(getTableName(dnsServerStats), ["pod", "server", "port"], DNS_SERVER_COUNTERS),
  names: upsert(getTableName(dnsNameStats), ["pod", "name"], ["queries", "nxdomain"]),
  totals: `INSERT INTO ${getTableName(dnsNodeTotals)} (node, ${DNS_SERVER_COUNTERS.join(", ")}) VALUES (${
    ["?", ...DNS_SERVER_COUNTERS.map(() => "?")].join(", ")
  }) ON CONFLICT (node) DO UPDATE SET ${addExcluded(...DNS_SERVER_COUNTERS)}`,
} as const;

/** Sums rows with the same leading `identity` values (a batch may repeat a key), saturating. */
function merged(rows: readonly Row[], identity: number): Row[] {
  const out = new Map<string, Row>();
  for (const r of rows) {
    const key = JSON.stringify(r.slice(0, identity));
    const had = out.get(key);
    if (had === undefined) out.set(key, [...r]);
    else for (let i = identity; i < r.length; i++) had[i] = Math.min((had[i] as number) + (r[i] as number), MAX_COUNT);
  }
  return [...out.values()];
}

/** Stores a batch's DNS records of `node` reported at `ts` at every level, and adds them to the node's totals. */
export async function storeDns(tx: SqlTransaction, node: string, ts: number, dns: DnsRecords): Promise<void> {
  const servers = merged(
    dns.servers.map((r) => [dnsPodKey(r.pod), r.server, r.port, ...dnsServerCounts(r)]),
    3,
  );
  const names = merged(dns.names.map((r) => [dnsPodKey(r.pod), r.name, r.queries, r.nxdomain]), 2);
  // Every server row of the batch summed into one: the node's totals.
  const [totals] = merged(servers.map((r) => r.slice(3)), 0);
  if (totals !== undefined) await tx.execute({ sql: SQL.totals, args: [node, ...totals] });
  for (const [sql, rows] of [[SQL.servers, servers], [SQL.names, names]] as const) {
    if (rows.length === 0) continue;
    const all = LEVELS.flatMap((level) => rows.map((r) => [level, bucketOfReport(level, ts), node, ...r]));
    await tx.execute({ sql, args: [JSON.stringify(all)] });
  }
}
