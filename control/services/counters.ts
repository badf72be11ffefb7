// SPDX-License-Identifier: Apache-2.0
/**
 * Load-balancing counters: stored from each batch (inside the batch's own
 * transaction, control/ingest/store.ts, after duplicates were dropped), summed
 * per minute over every node into lb_stats (saturating: db/counter-sums.ts);
 * and their retention.
 */
import type { SqlTransaction } from "../db/prepared.ts";
import type { Db } from "../db/client.ts";
import { addExcluded, sumCounters } from "../db/counter-sums.ts";
import { rawWriteTransaction } from "../db/write-queue.ts";
import { bucketOfReport, expiredBuckets, type RetentionSettings } from "../monitoring/rollup.ts";
import type { Batch } from "../wire/batch.ts";
import { GATEWAY_FRONTEND_MINUTES, storeGatewayFrontends } from "./gateway-events.ts";

const ADD = `ON CONFLICT (service_id, bucket, backend_id) DO UPDATE SET ${addExcluded("connections", "refused")}`;
const [c1, c2, c3, c4] = [1, 2, 3, 4].map((i) => sumCounters(`j.value ->> ${i}`));

/**
 * Rows join the service or backend they name, so a row whose id names none
 * (deleted meanwhile), or one that got its id after the version the node
 * had programmed (the node counted for whatever had the id before), is
 * ignored: counted nowhere, as it belongs to no service shown.
 */
const SQL = {
  services: "INSERT INTO lb_stats (bucket, service_id, backend_id, connections, refused) " +
    `SELECT ?1, s.id, 0, ${c1}, ${c2} FROM json_each(?2) AS j ` +
    "JOIN services AS s ON s.id = j.value ->> 0 AND s.assigned_version <= ?3 " +
    `GROUP BY s.id HAVING ${c1} + ${c2} > 0 ${ADD}`,
  backends: "INSERT INTO lb_stats (bucket, service_id, backend_id, connections, refused) " +
    `SELECT ?1, b.service_id, b.id, ${c1}, 0 FROM json_each(?2) AS j ` +
    "JOIN service_backends AS b ON b.id = j.value ->> 0 AND b.assigned_version <= ?3 " +
    `GROUP BY b.id HAVING ${c1} > 0 ${ADD}`,
} as const;

/** Gateway rows, summed per service and minute, under the same rules as SQL.services. */
const GATEWAY_SQL = "INSERT INTO gateway_stats (bucket, service_id, packets_in, bytes_in, packets_out, bytes_out) " +
  `SELECT ?1, s.id, ${c1}, ${c2}, ${c3}, ${c4} FROM json_each(?2) AS j ` +
  "JOIN services AS s ON s.id = j.value ->> 0 AND s.assigned_version <= ?3 GROUP BY s.id " +
  `ON CONFLICT (service_id, bucket) DO UPDATE SET ${addExcluded("packets_in", "bytes_in", "packets_out", "bytes_out")}`;

/** Adds the batch's lb counters into the minute its interval ends in (agent clock, as the monitoring rollups). */
export async function storeLbCounters(tx: SqlTransaction, batch: Batch): Promise<void> {
  const lb = batch.lb;
  const bucket = bucketOfReport("1m", batch.ts);
  const gw = batch.gateway;
  if (gw !== undefined && gw.services.length > 0) {
    await tx.execute({ sql: GATEWAY_SQL, args: [bucket, JSON.stringify(gw.services), gw.version] });
  }
  if (gw !== undefined) await storeGatewayFrontends(tx, bucket, gw);
  if (lb === undefined) return;
  if (lb.services.length > 0) {
    await tx.execute({ sql: SQL.services, args: [bucket, JSON.stringify(lb.services), lb.version] });
  }
  if (lb.backends.length > 0) {
    await tx.execute({ sql: SQL.backends, args: [bucket, JSON.stringify(lb.backends), lb.version] });
  }
}

/**
 * Retention, run with the monitoring maintenance: minutes older than the
 * 1-minute level's retention (EBPF_K8S_RETENTION_1M), and nodes that have
 * not polled for as long.
 */
export function pruneLb(
  db: Db,
  now: number,
  retention: RetentionSettings,
): Promise<{ deletedBuckets: number; forgottenNodes: number }> {
  return rawWriteTransaction(db, async (tx) => {
    const buckets = await tx.execute({
      sql: "DELETE FROM lb_stats WHERE bucket <= ?",
      args: [expiredBuckets(now, retention)["1m"]],
    });
    for (const table of ["gateway_stats", GATEWAY_FRONTEND_MINUTES]) {
      await tx.execute({ sql: `DELETE FROM ${table} WHERE bucket <= ?`, args: [expiredBuckets(now, retention)["1m"]] });
    }
    const nodes = await tx.execute({ sql: "DELETE FROM lb_nodes WHERE polled_at <= ?", args: [now - retention["1m"]] });
    return { deletedBuckets: buckets.rowsAffected, forgottenNodes: nodes.rowsAffected };
  });
}
