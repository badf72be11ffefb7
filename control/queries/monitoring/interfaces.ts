// SPDX-License-Identifier: Apache-2.0
/**
 * Interface RX/TX over time: a node's total (its interfaces summed) or one
 * interface, as points of counter growth and the seconds each covers, so
 * rates are exact whatever the level: per report on "raw" (interface_history),
 * per bucket on 1m and 1h (interface_stats plus, as in stats.ts, the history
 * rows not rolled up yet, so the latest minutes show before maintenance has
 * run, and each batch counts once). Also the overview's sparklines: every
 * node's total per minute in one query.
 */
import type { InValue } from "@libsql/client";
import type { Db } from "../../db/client.ts";
import { sumCounters } from "../../db/counter-sums.ts";
import { INTERFACE_DELTA_KEYS, INTERFACE_HISTORY_KEYS, type InterfaceDeltaKey } from "../../db/schema.ts";
import { notRolledInto } from "../../monitoring-store/layouts.ts";
import { BUCKET_MS, type Window, windowOn } from "../../monitoring/rollup.ts";

/** Growth over a report (raw) or a bucket (1m, 1h). */
export interface SeriesPoint {
  /** Report time (raw) or start of the bucket, ms. */
  t: number;
  /** What the growth covers: the time since the previous report, summed over the bucket. */
  seconds: number;
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  drops: number;
}

export interface SeriesRates {
  rxBytesPerSec: number | null;
  txBytesPerSec: number | null;
  rxPacketsPerSec: number | null;
  txPacketsPerSec: number | null;
  dropsPerSec: number | null;
}

/** Per second over what the point covers; null when it covers no time (a boot seen before whose history is gone). */
export function pointRates(p: SeriesPoint): SeriesRates {
  const per = (n: number) => (p.seconds > 0 ? n / p.seconds : null);
  return {
    rxBytesPerSec: per(p.rxBytes),
    txBytesPerSec: per(p.txBytes),
    rxPacketsPerSec: per(p.rxPackets),
    txPacketsPerSec: per(p.txPackets),
    dropsPerSec: per(p.drops),
  };
}

/** Column names of the sums, in SeriesPoint's order after t and seconds (interface_history and interface_stats alike). */
const SUM_COLUMNS = ["rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "drops", "interval_ms"] as const;
/** An interface's growth in its interface_history array. */
const DELTA_AT = Object.fromEntries(INTERFACE_DELTA_KEYS.map((k) => [k, INTERFACE_HISTORY_KEYS.indexOf(k)])) as Record<
  InterfaceDeltaKey,
  number
>;
const JSON_SUMS = [
  `j.value ->> ${DELTA_AT.rxPacketsDelta}`,
  `j.value ->> ${DELTA_AT.rxBytesDelta}`,
  `j.value ->> ${DELTA_AT.txPacketsDelta}`,
  `j.value ->> ${DELTA_AT.txBytesDelta}`,
  `j.value ->> ${DELTA_AT.dropsDelta}`,
  `j.value ->> ${DELTA_AT.intervalMs}`,
];
const SELECT_SUMS = SUM_COLUMNS.join(", ");
const SUMMED = SUM_COLUMNS.map((c) => `${sumCounters(c)} AS ${c}`).join(", ");

/** A batch without interfaces (ifstats off) is no data, not zero traffic. */
const HAS_INTERFACES = "h.interfaces != '[]'";

/** History rows of the node in (from, to] as (t, sums): the node total from the row's columns, or one interface from its JSON. */
function historySql(ifname: string | undefined, notRolled?: "1m" | "1h"): string {
  const rolled = notRolled === undefined ? "" : ` AND ${notRolledInto(notRolled, "h.")}`;
  const where = `h.node = :node AND h.ts > :from AND h.ts <= :to${rolled}`;
  if (ifname === undefined) {
    return `SELECT h.id AS id, h.ts AS t, ${
      SUM_COLUMNS.map((c) => `h.${c} AS ${c}`).join(", ")
    } FROM interface_history h WHERE ${where} AND ${HAS_INTERFACES}`;
  }
  const sums = JSON_SUMS.map((e, i) => `${e} AS ${SUM_COLUMNS[i]}`).join(", ");
  return `SELECT h.id AS id, h.ts AS t, ${sums} FROM interface_history h, json_each(h.interfaces) j WHERE ${where} AND j.value ->> 0 = :ifname`;
}

/** Report time → start of its bucket (bucketOfReport in SQL; report times are positive). */
const bucketOf = (t: string, size: number) => `((${t} - 1) / ${size}) * ${size}`;

/**
 * The node's total (no `ifname`) or one interface over `w`, oldest first;
 * reports or buckets without data are absent.
 */
export async function queryInterfaceSeries(db: Db, w: Window, node: string, ifname?: string): Promise<SeriesPoint[]> {
  const args: Record<string, InValue> = { node, from: w.from, to: w.to };
  // interface_stats keeps the node's total under "".
  if (ifname !== undefined || w.level !== "raw") args.ifname = ifname ?? "";
  let sql: string;
  if (w.level === "raw") {
    sql = `SELECT t, ${SELECT_SUMS} FROM (${historySql(ifname)}) ORDER BY t, id`;
  } else {
    const stored =
      `SELECT bucket AS t, ${SELECT_SUMS} FROM interface_stats WHERE node = :node AND level = :level AND ifname = :ifname AND bucket >= :from AND bucket < :to`;
    const pending = `SELECT ${bucketOf("t", BUCKET_MS[w.level])} AS t, ${SELECT_SUMS} FROM (${
      historySql(ifname, w.level)
    })`;
    sql = `SELECT t, ${SUMMED} FROM (${stored} UNION ALL ${pending}) GROUP BY t ORDER BY t`;
    args.level = w.level;
  }
  // One JSON text: libSQL turns every value of every row into a JavaScript value one by one, which for
  // a day of minutes (1,440 rows) cost ten times the query.
  const json = (await db.$client.execute({
    sql: `SELECT json_group_array(json_array(t, ${SELECT_SUMS})) AS points FROM (${sql})`,
    args,
  })).rows[0]?.points;
  const rows = JSON.parse(String(json ?? "[]")) as number[][];
  return rows.map(([t, rxPackets, rxBytes, txPackets, txBytes, drops, ms]) => ({
    t: t!,
    seconds: ms! / 1000,
    rxPackets: rxPackets!,
    rxBytes: rxBytes!,
    txPackets: txPackets!,
    txBytes: txBytes!,
    drops: drops!,
  }));
}

/** What a sparkline draws: bytes each way per bucket and the seconds they cover. */
export interface SparkPoint {
  t: number;
  rxBytes: number;
  txBytes: number;
  seconds: number;
}

/** How far back the overview's sparklines reach, on the 1m level. */
export const SPARK_SPAN_MS = 3_600_000;

/**
 * The total of each of `nodes` per minute over the last hour at `now`, by
 * node (nodes without data absent). Per node a contiguous range of its ""
 * rows (the key starts with the node), plus its history not rolled up yet
 * (its hour of reports through the (node, ts) index), merged here rather than grouped in
 * SQL: at a thousand nodes the grouping cost five times the reading. A
 * report without interfaces adds nothing (no bytes, no time).
 */
export async function querySparklines(
  db: Db,
  now: number,
  nodes: readonly string[],
): Promise<{ window: Window; byNode: Map<string, SparkPoint[]> }> {
  const window = windowOn("1m", now - SPARK_SPAN_MS, now, now);
  const byNode = new Map<string, SparkPoint[]>();
  if (nodes.length === 0) return { window, byNode };
  const size = BUCKET_MS["1m"];
  const stored =
    "SELECT s.node AS node, s.bucket AS t, s.rx_bytes AS rx, s.tx_bytes AS tx, s.interval_ms AS ms FROM json_each(:nodes) n CROSS JOIN interface_stats s " +
    "ON s.node = n.value AND s.level = '1m' AND s.ifname = '' AND s.bucket >= :from AND s.bucket < :to";
  const pending =
    `SELECT h.node AS node, ${
      bucketOf("h.ts", size)
    } AS t, h.rx_bytes AS rx, h.tx_bytes AS tx, h.interval_ms AS ms FROM json_each(:nodes) n ` +
    `CROSS JOIN interface_history h ON h.node = n.value AND h.ts > :from AND h.ts <= :to WHERE ${
      notRolledInto("1m", "h.")
    }`;
  const sql =
    `SELECT json_group_array(json_array(node, t, rx, tx, ms)) AS points FROM (${stored} UNION ALL ${pending})`;
  const json =
    (await db.$client.execute({ sql, args: { nodes: JSON.stringify(nodes), from: window.from, to: window.to } }))
      .rows[0]?.points;
  const buckets = new Map<string, SparkPoint>();
  for (const [node, t, rx, tx, ms] of JSON.parse(String(json ?? "[]")) as [string, number, number, number, number][]) {
    const key = `${node}|${t}`;
    const had = buckets.get(key);
    if (had !== undefined) (had.rxBytes += rx), (had.txBytes += tx), (had.seconds += ms / 1000);
    else {
      const point = { t, rxBytes: rx, txBytes: tx, seconds: ms / 1000 };
      buckets.set(key, point);
      let points = byNode.get(node);
      if (points === undefined) byNode.set(node, points = []);
      points.push(point);
    }
  }
  for (const points of byNode.values()) points.sort((a, b) => a.t - b.t);
  return { window, byNode };
}
