// SPDX-License-Identifier: Apache-2.0
/**
 * A batch's interfaces as ingest stores them: each with its rates and its
 * growth since the previous sample of the same boot (control/ingest/rates.ts),
 * encoded once in the layout of interface_history (INTERFACE_HISTORY_KEYS),
 * stored as-is as the batch's history row and unpacked by SQLite into the
 * totals (control/ingest/store.ts).
 */
import type { SqlTransaction } from "../db/prepared.ts";
import { type JsonRows, jsonRows } from "../db/json-rows.ts";
import { INTERFACE_HISTORY_KEYS } from "../db/schema.ts";
import type { Batch } from "../wire/batch.ts";
import { type Deltas, deltasBetween, NO_DELTAS, ratesBetween, type TimedCounters } from "./rates.ts";

const SQL = {
  // The boot's sample before `ts`, for a batch that is not of the current boot (late, or a boot
  // seen before that is newer again): the (node, ts) index finds it in a step or two.
  previousOfBoot:
    "SELECT ts, interfaces FROM interface_history WHERE node = ? AND ts <= ? AND boot_id = ? ORDER BY ts DESC, id DESC LIMIT 1",
  saveHistory:
    "INSERT INTO interface_history (node, boot_id, ts, interfaces, rx_packets, rx_bytes, tx_packets, tx_bytes, drops, interval_ms) " +
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
} as const;

/** counters: rxPackets, rxBytes, txPackets, txBytes, drops, as in INTERFACE_ROW_KEYS. */
export function timedCounters(
  ifindex: number,
  ts: number,
  [rxPackets, rxBytes, txPackets, txBytes, drops]: number[],
): TimedCounters {
  return {
    ifindex,
    ts,
    rxPackets: rxPackets!,
    rxBytes: rxBytes!,
    txPackets: txPackets!,
    txBytes: txBytes!,
    drops: drops!,
  };
}

/**
 * The previous sample of each interface of a boot the node's totals are not
 * from: for a boot seen before (a late batch, from the agent's spool) its
 * latest history row; for a boot never seen, none (its counters started
 * from zero). Undefined when a boot seen before has no history left
 * (retention removed it): its growth since then is unknown, so the batch
 * adds nothing. (The current boot's are its totals: control/ingest/node-state.ts.)
 */
export async function previousOfBoot(
  tx: SqlTransaction,
  bootSeen: boolean,
  batch: Batch,
): Promise<Map<string, TimedCounters> | undefined> {
  if (!bootSeen) return new Map();
  const row = (await tx.execute({ sql: SQL.previousOfBoot, args: [batch.node, batch.ts, batch.bootId] })).rows[0];
  if (row === undefined) return undefined;
  const ts = Number(row.ts);
  const entries = JSON.parse(String(row.interfaces)) as Array<[string, number, ...number[]]>;
  return new Map(entries.map(([ifname, ifindex, ...counters]) => [ifname, timedCounters(ifindex, ts, counters)]));
}

export interface InterfaceRows extends JsonRows<(typeof INTERFACE_HISTORY_KEYS)[number]> {
  /** The deltas summed over the interfaces, the longest interval of them: the node's total. */
  total: Deltas;
}

/** The batch's interfaces with the rates and deltas derived from them against `previous` (see previousOfBoot). */
export function interfaceRows(batch: Batch, previous: Map<string, TimedCounters> | undefined): InterfaceRows {
  const total = { ...NO_DELTAS };
  const values = batch.interfaces.map((f) => {
    const prev = previous?.get(f.ifname);
    const cur = { ...f, ts: batch.ts };
    const r = ratesBetween(prev, cur);
    const d = previous === undefined ? NO_DELTAS : deltasBetween(prev, cur, batch.interval * 1000);
    total.rxPackets += d.rxPackets;
    total.rxBytes += d.rxBytes;
    total.txPackets += d.txPackets;
    total.txBytes += d.txBytes;
    total.drops += d.drops;
    total.intervalMs = Math.max(total.intervalMs, d.intervalMs);
    return [
      f.ifname,
      f.ifindex,
      f.rxPackets,
      f.rxBytes,
      f.txPackets,
      f.txBytes,
      f.drops,
      r.rxPacketsPerSec,
      r.rxBytesPerSec,
      r.txPacketsPerSec,
      r.txBytesPerSec,
      d.rxPackets,
      d.rxBytes,
      d.txPackets,
      d.txBytes,
      d.drops,
      d.intervalMs,
    ];
  });
  return { ...jsonRows(INTERFACE_HISTORY_KEYS, values), total };
}

export async function saveHistory(tx: SqlTransaction, batch: Batch, rows: InterfaceRows) {
  const t = rows.total;
  await tx.execute({
    sql: SQL.saveHistory,
    args: [
      batch.node,
      batch.bootId,
      batch.ts,
      rows.json,
      t.rxPackets,
      t.rxBytes,
      t.txPackets,
      t.txBytes,
      t.drops,
      t.intervalMs,
    ],
  });
}
