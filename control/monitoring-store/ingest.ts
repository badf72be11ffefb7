// SPDX-License-Identifier: Apache-2.0
/**
 * The monitoring part of a batch, stored in the batch's transaction
 * (control/ingest/store.ts): pods, then flow, TCP and drop rows at the raw
 * level (one monitoring_raw row), the names of the endpoints they mention,
 * DNS at every level (dns.ts), and the node's monitoring counters. Records are de-duplicated, attributed
 * and capped by the pure code in control/monitoring/.
 */
import type { SqlTransaction } from "../db/prepared.ts";
import type { Db } from "../db/client.ts";
import type { PodDirectory } from "../monitoring/attribution.ts";
import { capRows, otherDropRow, otherFlowRow, otherTcpRow } from "../monitoring/cardinality.ts";
import { aggregateDrops, DROP_ROWS } from "../monitoring/drops.ts";
import { aggregateFlows, dedupFlows, FLOW_ROWS, type FlowRow } from "../monitoring/flows.ts";
import type { RowOps } from "../monitoring/rows.ts";
import { aggregateTcp, TCP_ROWS } from "../monitoring/tcp.ts";
import type { Batch } from "../wire/batch.ts";
import { dnsPodsOf, storeDns } from "./dns.ts";
import { endpointsToWrite } from "./endpoint-cache.ts";
import { dropArray, endpointArray, endpointsOf, flowArray, tcpArray } from "./layouts.ts";
import { storePods } from "./pods.ts";
import type { MonitoringSettings } from "./settings.ts";

/** Endpoint names are refreshed (and kept from expiring) at most this often. */
export const ENDPOINT_REFRESH_MS = 60_000;

const SQL = {
  // Its rolled marks (monitoring_raw_marks) are made by a trigger (control/db/schema.ts).
  raw: "INSERT INTO monitoring_raw_rows (node, boot_id, ts, flows, tcp, drops) VALUES (?, ?, ?, ?, ?, ?)",
  endpoints: "INSERT INTO endpoints (key, kind, namespace, name, node, ip, last_used) " +
    "SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, ? FROM json_each(?) WHERE true " +
    "ON CONFLICT (key) DO UPDATE SET " +
    // A pod known only by its uid (it vanished before its node's next report) keeps the names it had.
    "namespace = CASE WHEN coalesce(excluded.name, '') = '' THEN endpoints.namespace ELSE excluded.namespace END, " +
    "name = CASE WHEN coalesce(excluded.name, '') = '' THEN endpoints.name ELSE excluded.name END, " +
    "node = coalesce(excluded.node, endpoints.node), last_used = excluded.last_used " +
    `WHERE endpoints.last_used <= excluded.last_used - ${ENDPOINT_REFRESH_MS} ` +
    "OR (coalesce(endpoints.name, '') = '' AND coalesce(excluded.name, '') != '')",
  counters: "INSERT INTO node_monitoring (node, agent, flow_keys_cut, tcp_keys_cut, drop_keys_cut, " +
    "dns_name_keys_cut, dns_server_keys_cut, flow_duplicates, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) " +
    "ON CONFLICT (node) DO UPDATE SET agent = coalesce(excluded.agent, node_monitoring.agent), " +
    "flow_keys_cut = flow_keys_cut + excluded.flow_keys_cut, tcp_keys_cut = tcp_keys_cut + excluded.tcp_keys_cut, " +
    "drop_keys_cut = drop_keys_cut + excluded.drop_keys_cut, " +
    "dns_name_keys_cut = dns_name_keys_cut + excluded.dns_name_keys_cut, " +
    "dns_server_keys_cut = dns_server_keys_cut + excluded.dns_server_keys_cut, " +
    "flow_duplicates = flow_duplicates + excluded.flow_duplicates, updated_at = excluded.updated_at",
} as const;

const NOTHING_STORED: ReadonlySet<string> = new Set();

/**
 * `current`: the batch is from the node's current boot (not a late one from
 * the spool), so its pods and agent counters are the latest word. Returns the
 * flow rows stored (de-duplicated, attributed, capped): the ingest streams them
 * to followers once the transaction has committed (control/flows-stream/).
 */
export async function storeMonitoring(
  db: Db,
  tx: SqlTransaction,
  directory: PodDirectory,
  batch: Batch,
  current: boolean,
  receivedAt: number,
  settings: MonitoringSettings,
): Promise<FlowRow[]> {
  const { node } = batch;
  // Pods first, so that this batch's own records are attributed to this batch's pods.
  if (current && batch.pods !== undefined) {
    await storePods(tx, { ...batch, pods: batch.pods }, receivedAt);
    directory.setNode(node, batch.ts, batch.pods);
  }

  const { kept, duplicates } = dedupFlows((batch.flows ?? []).map((record) => ({ node, record })), directory);
  const { caps } = settings;
  // A raw bucket is one batch, so nothing is stored in it yet.
  const flows = capped(aggregateFlows(kept, directory), caps.flows, FLOW_ROWS, otherFlowRow(node));
  const tcp = capped(
    aggregateTcp((batch.tcp ?? []).map((record) => ({ node, record })), directory),
    caps.tcp,
    TCP_ROWS,
    otherTcpRow(node),
  );
  const drops = capped(
    aggregateDrops((batch.drops ?? []).map((record) => ({ node, record })), directory),
    caps.drops,
    DROP_ROWS,
    otherDropRow(node),
  );

  // The pods DNS records name keep their names in `endpoints` as the other rows' do (after a pod's grace period).
  const dnsPods = batch.dns === undefined ? [] : dnsPodsOf(directory, node, batch.dns);
  if (flows.rows.length + tcp.rows.length + drops.rows.length > 0) {
    const json = (rows: unknown[]) => JSON.stringify(rows);
    await tx.execute({
      sql: SQL.raw,
      args: [
        node,
        batch.bootId,
        batch.ts,
        json(flows.rows.map(flowArray)),
        json(tcp.rows.map(tcpArray)),
        json(drops.rows.map(dropArray)),
      ],
    });
  }
  if (flows.rows.length + tcp.rows.length + drops.rows.length + dnsPods.length > 0) {
    // Half the refresh period: a row the cache skips was written recently enough for the SQL's own rule.
    const endpoints = endpointsToWrite(
      db,
      endpointsOf(flows.rows, tcp.rows, drops.rows, dnsPods).map(endpointArray),
      receivedAt,
      ENDPOINT_REFRESH_MS / 2,
    );
    if (endpoints.length > 0) await tx.execute({ sql: SQL.endpoints, args: [receivedAt, JSON.stringify(endpoints)] });
  }
  const dnsCut = batch.dns === undefined
    ? { names: 0, servers: 0 }
    : await storeDns(tx, node, batch.ts, batch.dns, caps);
  const agent = current && batch.monitoring !== undefined ? JSON.stringify(batch.monitoring) : null;
  const cut = [flows.cutKeys, tcp.cutKeys, drops.cutKeys, dnsCut.names, dnsCut.servers];
  if (agent !== null || cut.some((n) => n > 0) || duplicates > 0) {
    await tx.execute({ sql: SQL.counters, args: [node, agent, ...cut, duplicates, receivedAt] });
  }
  return flows.rows;
}

function capped<R extends object>(rows: R[], cap: number, ops: RowOps<R>, otherRow: R): { rows: R[]; cutKeys: number } {
  const { kept, other, cutKeys } = capRows(rows, NOTHING_STORED, cap, ops, otherRow);
  return { rows: other ? [...kept, other] : kept, cutKeys };
}
