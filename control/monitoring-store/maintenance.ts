// SPDX-License-Identifier: Apache-2.0
/**
 * Periodic upkeep of the monitoring store, run by the control plane's entry
 * point every `maintenanceIntervalMs` (and by tests directly):
 *
 * 1. roll raw rows up into the 1 min and 1 h levels: flows, TCP and drops
 *    (rollup.ts), and interface RX/TX (interface-rollup.ts);
 * 2. retention: delete raw rows and interface history (once in both levels)
 *    and buckets older than their level's retention (control/monitoring/rollup.ts,
 *    expiredBuckets);
 * 3. drop pods that vanished longer ago than the grace period;
 * 4. forget endpoint names no stored row can still mention.
 *
 * Each step runs in short transactions through the write queue, behind and
 * between ingest's, so batches keep flowing while it works.
 */
import type { SqlTransaction } from "../db/prepared.ts";
import type { Db } from "../db/client.ts";
import { rawWriteTransaction } from "../db/write-queue.ts";
import { BUCKET_MS, expiredBuckets, LEVELS } from "../monitoring/rollup.ts";
import { ENDPOINT_REFRESH_MS } from "./ingest.ts";
import { CHUNK_HISTORY_ROWS, rollupInterfaceChunk } from "./interface-rollup.ts";
import {
  deleteRolled,
  planChunks,
  type RawTable,
  type RollupChunk,
  type RollupLevel,
  type RollupPlan,
  type RollupResult,
} from "./raw-chunks.ts";
import { CHUNK_RAW_ROWS, rollupChunk } from "./rollup.ts";
import type { MonitoringSettings } from "./settings.ts";

/**
 * The 1 h level takes raw rows up to the last multiple of this: a node's
 * rows merge over ten minutes before one upsert per key. Queries on 1 h add
 * the raw rows not rolled yet, so nothing is missing meanwhile.
 */
export const HOUR_ROLLUP_EVERY_MS = 10 * 60_000;

/**
 * At most this share of the event loop goes to the rollup while it runs.
 * Measured at 1,000 nodes (ingest bench): ingest needs about half of it,
 * and a rollup running flat out queued batches for seconds; at a quarter it
 * still finishes a minute's rows well within the minute.
 */
const MAINTENANCE_DUTY = 0.25;

// drop_service_stats with drop_stats: a bucket of one is never kept past the other's (the difference of the two is the
// drops no service claimed).
const STATS_TABLES = [
  "flow_stats",
  "tcp_stats",
  "drop_stats",
  "drop_service_stats",
  "interface_stats",
  "dns_server_stats",
  "dns_name_stats",
] as const;
/** The DNS tables hold their raw level too (control/monitoring-store/dns.ts), pruned as monitoring_raw is. */
const RAW_LEVEL_TABLES = ["dns_server_stats", "dns_name_stats"] as const;

export interface MaintenanceResult {
  /** Raw rows (monitoring_raw) added into the 1 min level. */
  rolledBatches: number;
  /** interface_history rows added into the 1 min level. */
  rolledHistory: number;
  keysCut: number;
  deletedRaw: number;
  deletedHistory: number;
  deletedBuckets: number;
  droppedPods: number;
  forgottenEndpoints: number;
}

/**
 * One run. `signal` ends it between two transactions (the replica lost its
 * lease, or is stopping): each is whole, and the next run goes on from there.
 */
export async function runMaintenance(
  db: Db,
  now: number,
  settings: MonitoringSettings,
  signal?: AbortSignal,
): Promise<MaintenanceResult> {
  const out: MaintenanceResult = {
    rolledBatches: 0,
    rolledHistory: 0,
    keysCut: 0,
    deletedRaw: 0,
    deletedHistory: 0,
    deletedBuckets: 0,
    droppedPods: 0,
    forgottenEndpoints: 0,
  };
  const until: Record<RollupLevel, number> = {
    "1m": Number.MAX_SAFE_INTEGER,
    "1h": Math.floor(now / HOUR_ROLLUP_EVERY_MS) * HOUR_ROLLUP_EVERY_MS,
  };
  const sources: Array<{
    table: RawTable;
    chunkRows: number;
    roll: (tx: SqlTransaction, plan: RollupPlan, chunk: RollupChunk) => Promise<RollupResult>;
    rolled: "rolledBatches" | "rolledHistory";
  }> = [
    {
      table: "monitoring_raw",
      chunkRows: CHUNK_RAW_ROWS,
      roll: (tx, plan, chunk) => rollupChunk(tx, plan, chunk, settings.caps, now),
      rolled: "rolledBatches",
    },
    { table: "interface_history", chunkRows: CHUNK_HISTORY_ROWS, roll: rollupInterfaceChunk, rolled: "rolledHistory" },
  ];
  for (const level of ["1m", "1h"] as const) {
    for (const source of sources) {
      signal?.throwIfAborted();
      // Rows that arrive while this runs wait for the next run: the plan is fixed at its start.
      const plan = await rawWriteTransaction(
        db,
        (tx) => planChunks(tx, source.table, level, until[level], source.chunkRows),
      );
      for (const chunk of plan.chunks) {
        signal?.throwIfAborted();
        const started = performance.now();
        const rolled = await rawWriteTransaction(db, (tx) => source.roll(tx, plan, chunk));
        if (level === "1m") out[source.rolled] += rolled.batches;
        out.keysCut += rolled.keysCut;
        // Pause for the requests that arrived meanwhile, and long enough that the rollup takes at most
        // MAINTENANCE_DUTY of the event loop: a busy control plane keeps up with ingest while it runs.
        const took = performance.now() - started;
        await new Promise((resolve) => setTimeout(resolve, (took * (1 - MAINTENANCE_DUTY)) / MAINTENANCE_DUTY));
      }
    }
  }
  const expired = expiredBuckets(now, settings.retention);
  signal?.throwIfAborted();
  await rawWriteTransaction(db, async (tx) => {
    out.deletedRaw = await deleteRolled(tx, "monitoring_raw", expired.raw);
    out.deletedHistory = await deleteRolled(tx, "interface_history", expired.raw);
    for (const table of STATS_TABLES) {
      const levels = (RAW_LEVEL_TABLES as readonly string[]).includes(table) ? LEVELS : ["1m", "1h"] as const;
      for (const level of levels) {
        const sql = `DELETE FROM ${table} WHERE level = ? AND bucket <= ?`;
        out.deletedBuckets += (await tx.execute({ sql, args: [level, expired[level]] })).rowsAffected;
      }
    }
    const podsSql = "DELETE FROM pods WHERE vanished_at IS NOT NULL AND vanished_at <= ?";
    out.droppedPods = (await tx.execute({ sql: podsSql, args: [now - settings.podGraceMs] })).rowsAffected;
    // Every row naming an endpoint refreshed it within ENDPOINT_REFRESH_MS of being stored.
    const longest = Math.max(...(["raw", "1m", "1h"] as const).map((l) => settings.retention[l] + BUCKET_MS[l]));
    const endpointsSql = "DELETE FROM endpoints WHERE last_used <= ?";
    out.forgottenEndpoints =
      (await tx.execute({ sql: endpointsSql, args: [now - longest - ENDPOINT_REFRESH_MS] })).rowsAffected;
  });
  return out;
}

/**
 * Runs maintenance every interval until stopped; failures are reported and the next run tries again.
 * stop() ends a run in progress between two of its transactions.
 */
export function startMaintenance(
  db: Db,
  settings: MonitoringSettings,
  opts: { now?: () => number; logError?: (message: string, err: unknown) => void } = {},
): { stop(): Promise<void> } {
  const now = opts.now ?? Date.now;
  const logError = opts.logError ?? ((message, err) => console.error(message, err));
  const stopping = new AbortController();
  let running: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    running = running.then(() => runMaintenance(db, now(), settings, stopping.signal)).catch((err) => {
      if (!stopping.signal.aborted) logError("monitoring maintenance failed:", err);
    });
  }, settings.maintenanceIntervalMs);
  (timer as { unref?: () => void }).unref?.();
  return {
    async stop() {
      clearInterval(timer);
      stopping.abort();
      await running;
    },
  };
}
