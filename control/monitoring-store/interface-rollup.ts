// SPDX-License-Identifier: Apache-2.0
/**
 * Rolls interface_history (one row per batch) up into the 1 min and 1 h
 * buckets of interface_stats: per interface, and per node under ifname ""
 * (the batch's own node total, kept in the row's columns).
 *
 * Ingest stores with every sample its growth since the previous sample of
 * the same boot and ifindex (control/ingest/rates.ts, deltasBetween), so a
 * bucket is a plain sum and exact however its batches are merged: a late
 * batch adds into a bucket already rolled, a new boot or a recreated
 * interface starts from its own counters, nothing is subtracted across
 * them. Taking the deltas at ingest costs nothing there (the previous
 * totals are already read for the rates) and spares the rollup from
 * finding, for every row, the sample before it (possibly rolled and gone).
 *
 * Same shape as rollup.ts (chunks of whole nodes, raw-chunks.ts, one
 * transaction each, rows marked rolled per level), run by maintenance.ts.
 */
import type { SqlTransaction } from "../db/prepared.ts";
import { insertJsonRows, type JsonScalar } from "../db/json-rows.ts";
import { INTERFACE_DELTA_KEYS, INTERFACE_HISTORY_KEYS, interfaceStats } from "../db/schema.ts";
import { bucketOfReport } from "../monitoring/rollup.ts";
import { chunkRowsJson, markRolled, type RollupChunk, type RollupPlan, type RollupResult } from "./raw-chunks.ts";

/** The summed columns, in the order of INTERFACE_DELTA_KEYS. */
const SUMS = ["rxPackets", "rxBytes", "txPackets", "txBytes", "drops", "intervalMs"] as const;
/** A history row as read: its interfaces (nested, parsed with the rest) and the node's total, in the order of SUMS. */
const VALUES = "json(interfaces), rx_packets, rx_bytes, tx_packets, tx_bytes, drops, interval_ms";
type HistoryRow = [id: number, node: string, ts: number, interfaces: JsonScalar[][], ...total: number[]];
/** Where an interface's deltas start in its history array. */
const FIRST_DELTA = INTERFACE_HISTORY_KEYS.indexOf(INTERFACE_DELTA_KEYS[0]);

/**
 * History rows per transaction, about: ten times rollup.ts's, as a row holds
 * a few interfaces rather than hundreds of flows, and each chunk pays for
 * its statements and commit. Measured at 1,000 nodes × 5 interfaces: ten
 * minutes of history into the 1 h level (60,000 rows) take ~2.5 s of CPU in
 * chunks of 300 (~15 ms each), ~5.5 s in chunks of 60 (a node each).
 */
export const CHUNK_HISTORY_ROWS = 300;

/** [node, ifname, bucket, ...SUMS]: the upsert's layout, and the key's order after `level`. */
type Row = [string, string, number, ...number[]];

export async function rollupInterfaceChunk(
  tx: SqlTransaction,
  plan: RollupPlan,
  chunk: RollupChunk,
): Promise<RollupResult> {
  const raw = (await chunkRowsJson(tx, plan, chunk, VALUES)) as HistoryRow[];
  if (raw.length === 0) return { batches: 0, keysCut: 0 };
  const rows = new Map<string, Row>();
  const add = (node: string, ifname: string, bucket: number, sums: readonly number[]) => {
    const key = `${node}|${ifname}|${bucket}`;
    const had = rows.get(key);
    if (had === undefined) rows.set(key, [node, ifname, bucket, ...sums]);
    else for (let i = 0; i < SUMS.length; i++) (had[3 + i] as number) += sums[i]!;
  };
  for (const [, node, ts, entries, ...total] of raw) {
    // A batch without interfaces (ifstats off) is no data, not zero traffic.
    if (entries.length === 0) continue;
    const bucket = bucketOfReport(plan.level, ts);
    add(node, "", bucket, total);
    // Rows stored before deltas were kept lack them: they add nothing.
    for (const e of entries) add(node, String(e[0]), bucket, SUMS.map((_, i) => Number(e[FIRST_DELTA + i] ?? 0)));
  }
  if (rows.size > 0) {
    // In primary-key order, so the upsert walks the index forwards.
    const out = [...rows.values()].sort((
      a,
      b,
    ) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] !== b[1] ? (a[1] < b[1] ? -1 : 1) : a[2] - b[2]));
    await tx.execute(
      insertJsonRows(interfaceStats, {
        rows: { keys: ["node", "ifname", "bucket", ...SUMS], json: JSON.stringify(out) },
        shared: { level: plan.level },
        upsertOn: ["node", "level", "ifname", "bucket"],
        add: SUMS,
      }),
    );
  }
  await markRolled(tx, plan, raw.map(([id]) => id));
  return { batches: raw.length, keysCut: 0 };
}
