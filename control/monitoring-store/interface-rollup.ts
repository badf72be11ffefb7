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
 * Same shape as rollup.ts (chunks of whole nodes, one transaction each,
 * rows marked rolled per level), run by maintenance.ts.
 */
import type { Transaction } from "@libsql/client";
import { insertJsonRows, type JsonScalar } from "../db/json-rows.ts";
import { INTERFACE_DELTA_KEYS, INTERFACE_HISTORY_KEYS, interfaceStats } from "../db/schema.ts";
import { bucketOfReport } from "../monitoring/rollup.ts";
import { chunkRows, markRolled, type RollupPlan, type RollupResult } from "./rollup.ts";

/** The summed columns, in the order of INTERFACE_DELTA_KEYS. */
const SUMS = ["rxPackets", "rxBytes", "txPackets", "txBytes", "drops", "intervalMs"] as const;
const TOTAL_COLUMNS = "rx_packets, rx_bytes, tx_packets, tx_bytes, drops, interval_ms";
/** Where an interface's deltas start in its history array. */
const FIRST_DELTA = INTERFACE_HISTORY_KEYS.indexOf(INTERFACE_DELTA_KEYS[0]);

/**
 * History rows per transaction, about: ten times rollup.ts's, as a row holds
 * a few interfaces rather than hundreds of flows. Measured at 1,000 nodes ×
 * 5 interfaces: a minute of history (6,000 rows) takes ~13 ms a chunk and
 * ~260 ms in all, against ~650 ms in chunks of 30.
 */
export const CHUNK_HISTORY_ROWS = 300;

/** [node, ifname, bucket, ...SUMS]: the upsert's layout, and the key's order after `level`. */
type Row = [string, string, number, ...number[]];

export async function rollupInterfaceChunk(tx: Transaction, plan: RollupPlan, nodes: string[]): Promise<RollupResult> {
  const raw = await chunkRows(tx, plan, nodes, `interfaces, ${TOTAL_COLUMNS}`);
  if (raw.length === 0) return { batches: 0, keysCut: 0 };
  const rows = new Map<string, Row>();
  const add = (node: string, ifname: string, bucket: number, sums: readonly number[]) => {
    const key = `${node}|${ifname}|${bucket}`;
    const had = rows.get(key);
    if (had === undefined) rows.set(key, [node, ifname, bucket, ...sums]);
    else for (let i = 0; i < SUMS.length; i++) (had[3 + i] as number) += sums[i]!;
  };
  for (const r of raw) {
    const entries = JSON.parse(String(r.interfaces)) as JsonScalar[][];
    // A batch without interfaces (ifstats off) is no data, not zero traffic.
    if (entries.length === 0) continue;
    const node = String(r.node);
    const bucket = bucketOfReport(plan.level, Number(r.ts));
    add(node, "", bucket, [r.rx_packets, r.rx_bytes, r.tx_packets, r.tx_bytes, r.drops, r.interval_ms].map(Number));
    // Rows stored before deltas were kept lack them: they add nothing.
    for (const e of entries) add(node, String(e[0]), bucket, SUMS.map((_, i) => Number(e[FIRST_DELTA + i] ?? 0)));
  }
  if (rows.size > 0) {
    // In primary-key order, so the upsert walks the index forwards.
    const out = [...rows.values()].sort((a, b) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] !== b[1] ? (a[1] < b[1] ? -1 : 1) : a[2] - b[2]));
    await tx.execute(
      insertJsonRows(interfaceStats, {
        rows: { keys: ["node", "ifname", "bucket", ...SUMS], json: JSON.stringify(out) },
        shared: { level: plan.level },
        upsertOn: ["node", "level", "ifname", "bucket"],
        add: SUMS,
      }),
    );
  }
  await markRolled(tx, plan, raw.map((r) => Number(r.id)));
  return { batches: raw.length, keysCut: 0 };
}
