/**
 * Stores one validated batch: idempotently, and all of it or nothing (one
 * transaction).
 *
 * This is the one hot path of the control plane (1,000 nodes × 200 interfaces
 * every 10 s is 100 batches a second), so its statements are written by hand
 * and run on libSQL's transaction directly, bulk rows travel as JSON
 * (control/db/json-rows.ts), and batches that queue up share a commit
 * (control/db/group-commit.ts). The statements follow control/db/schema.ts;
 * the ingest tests exercise every one of them.
 */
import type { Transaction } from "@libsql/client";
import type { Db } from "../db/client.ts";
import { insertJsonRows, jsonRows, type JsonRows } from "../db/json-rows.ts";
import { INTERFACE_HISTORY_KEYS, INTERFACE_ROW_KEYS, interfaces } from "../db/schema.ts";
import { groupCommit } from "../db/group-commit.ts";
import { forgetPodDirectory, podDirectory } from "../monitoring-store/directory.ts";
import { forgetEndpointCache } from "../monitoring-store/endpoint-cache.ts";
import { storeMonitoring } from "../monitoring-store/ingest.ts";
import { DEFAULT_MONITORING_SETTINGS, type MonitoringSettings } from "../monitoring-store/settings.ts";
import { toDesiredState } from "../registry/desired-state.ts";
import { storeLbCounters } from "../services/counters.ts";
import type { Batch, BatchAck, DesiredState } from "../wire/batch.ts";
import { deltasBetween, NO_DELTAS, ratesBetween, type Deltas, type TimedCounters } from "./rates.ts";

/**
 * How a batch relates to what its node reported before:
 * - "current":  from the boot whose totals are stored; totals and rates move on.
 * - "new-boot": the node's first batch, or a boot newer than the stored one
 *               (the agent restarted, counters start again at zero): replaces the totals.
 * - "late":     a batch, resent from the agent's spool, from a boot older than the stored
 *               one: kept in the history, must not overwrite the newer totals.
 * Boots are ordered by the agent's clock, which is the same machine's clock across restarts.
 */
type BatchKind = "current" | "new-boot" | "late";

interface StoredNode {
  bootId: string;
  lastTs: number;
}

const SQL = {
  boot: "SELECT last_seq FROM boots WHERE node = ? AND boot_id = ?",
  node: "SELECT boot_id, last_ts FROM nodes WHERE name = ?",
  insertNode: "INSERT INTO nodes (name, boot_id, last_seq, last_ts, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)",
  advanceNode: "UPDATE nodes SET boot_id = ?, last_seq = ?, last_ts = ?, last_seen = ? WHERE name = ?",
  touchNode: "UPDATE nodes SET last_seen = ? WHERE name = ?",
  saveBoot:
    "INSERT INTO boots (node, boot_id, last_seq, first_seen, last_seen) VALUES (?, ?, ?, ?, ?) " +
    "ON CONFLICT (node, boot_id) DO UPDATE SET last_seq = excluded.last_seq, last_seen = excluded.last_seen",
  // One JSON text rather than rows: libSQL converts every value of every row
  // into a JavaScript value one by one, which for 200 interfaces cost more
  // than the rest of the transaction.
  previousTotals:
    "SELECT json_group_array(json_array(ifname, ifindex, ts, rx_packets, rx_bytes, tx_packets, tx_bytes, drops)) AS rows " +
    "FROM interfaces WHERE node = ?",
  clearTotals: "DELETE FROM interfaces WHERE node = ?",
  // The boot's sample before `ts`, for a batch that is not of the current boot (late, or a boot
  // seen before that is newer again): the (node, ts) index finds it in a step or two.
  previousOfBoot: "SELECT ts, interfaces FROM interface_history WHERE node = ? AND ts <= ? AND boot_id = ? ORDER BY ts DESC, id DESC LIMIT 1",
  saveHistory:
    "INSERT INTO interface_history (node, boot_id, ts, interfaces, rx_packets, rx_bytes, tx_packets, tx_bytes, drops, interval_ms) " +
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
  saveInventory:
    "INSERT INTO node_inventories (node, agent_version, kernel, inventory, ts, received_at) VALUES (?, ?, ?, ?, ?, ?) " +
    "ON CONFLICT (node) DO UPDATE SET agent_version = excluded.agent_version, kernel = excluded.kernel, " +
    "inventory = excluded.inventory, ts = excluded.ts, received_at = excluded.received_at",
  desired: "SELECT version, modules FROM desired_states WHERE node = ?",
} as const;

/** Batches stored under one commit at most, when they queue up (control/db/group-commit.ts). */
const MAX_BATCHES_PER_COMMIT = 32;

interface Job {
  db: Db;
  batch: Batch;
  receivedAt: number;
  monitoring: MonitoringSettings;
}
const stores = new WeakMap<Db, (job: Job) => Promise<BatchAck>>();

/** Stores `batch` and answers with its acknowledgement, which carries the node's desired state. */
export function storeBatch(
  db: Db,
  batch: Batch,
  receivedAt: number,
  monitoring: MonitoringSettings = DEFAULT_MONITORING_SETTINGS,
): Promise<BatchAck> {
  let store = stores.get(db);
  if (store === undefined) {
    // What is held in memory beside the database may include writes that were rolled back.
    store = groupCommit(db, storeJob, MAX_BATCHES_PER_COMMIT, () => {
      forgetPodDirectory(db);
      forgetEndpointCache(db);
    });
    stores.set(db, store);
  }
  return store({ db, batch, receivedAt, monitoring });
}

async function storeJob(tx: Transaction, job: Job): Promise<BatchAck> {
  const stored = await storeInTransaction(tx, job);
  return { ok: true, ...stored, desired: await desiredState(tx, job.batch.node) };
}

async function storeInTransaction(tx: Transaction, { db, batch, receivedAt, monitoring }: Job): Promise<{ seq: number; duplicate: boolean }> {
  const boot = (await tx.execute({ sql: SQL.boot, args: [batch.node, batch.bootId] })).rows[0];
  // Already stored (a resend after a lost acknowledgement, or an older batch): change nothing.
  // boots lives in the database, so this holds across control-plane restarts and replicas.
  if (boot !== undefined && batch.seq <= Number(boot.last_seq)) return { seq: Number(boot.last_seq), duplicate: true };

  const row = (await tx.execute({ sql: SQL.node, args: [batch.node] })).rows[0];
  const node = row === undefined ? undefined : { bootId: String(row.boot_id), lastTs: Number(row.last_ts) };
  const kind = classify(node, batch);

  await saveNode(tx, node, kind, batch, receivedAt);
  await tx.execute({ sql: SQL.saveBoot, args: [batch.node, batch.bootId, batch.seq, receivedAt, receivedAt] });
  // Counts of a late batch too: they are deltas, and a duplicate never gets here.
  await storeLbCounters(tx, batch);

  const directory = await podDirectory(db, tx);
  const rows = interfaceRows(batch, await previousSamples(tx, kind, boot !== undefined, batch));
  if (kind === "late") {
    await saveHistory(tx, batch, rows);
    await storeMonitoring(db, tx, directory, batch, false, receivedAt, monitoring);
    return { seq: batch.seq, duplicate: false };
  }
  // Totals of a replaced boot would mix two counting epochs; its history stays in interface_history.
  if (kind === "new-boot") await tx.execute({ sql: SQL.clearTotals, args: [batch.node] });
  const shared = { node: batch.node, ts: batch.ts, updatedAt: receivedAt };
  // The history row's layout starts with the totals' columns; the deltas after them are not read here.
  const totals = { keys: INTERFACE_ROW_KEYS, json: rows.json };
  await tx.execute(insertJsonRows(interfaces, { rows: totals, shared, upsertOn: ["node", "ifname"] }));
  await saveHistory(tx, batch, rows);
  // Only here: a late batch's inventory is older than the one stored, so it must not replace it.
  await saveInventory(tx, batch, receivedAt);
  await storeMonitoring(db, tx, directory, batch, true, receivedAt, monitoring);
  return { seq: batch.seq, duplicate: false };
}

function classify(node: StoredNode | undefined, batch: Batch): BatchKind {
  if (node === undefined) return "new-boot";
  if (node.bootId === batch.bootId) return "current";
  return batch.ts > node.lastTs ? "new-boot" : "late";
}

async function saveNode(tx: Transaction, node: StoredNode | undefined, kind: BatchKind, batch: Batch, receivedAt: number) {
  if (node === undefined) {
    await tx.execute({ sql: SQL.insertNode, args: [batch.node, batch.bootId, batch.seq, batch.ts, receivedAt, receivedAt] });
  } else if (kind === "late") {
    // A late batch still shows the agent is alive, but says nothing about the current boot.
    await tx.execute({ sql: SQL.touchNode, args: [receivedAt, batch.node] });
  } else {
    await tx.execute({ sql: SQL.advanceNode, args: [batch.bootId, batch.seq, batch.ts, receivedAt, batch.node] });
  }
}

async function saveInventory(tx: Transaction, batch: Batch, receivedAt: number) {
  const { inventory } = batch;
  if (inventory === undefined) return;
  await tx.execute({
    sql: SQL.saveInventory,
    args: [batch.node, inventory.agentVersion, inventory.kernel, JSON.stringify(inventory), batch.ts, receivedAt],
  });
}

/**
 * The previous sample of each interface of the batch's boot, which rates
 * and deltas are taken against: for the current boot the stored totals;
 * for a boot seen before (a late batch, from the agent's spool) its latest
 * history row; for a boot never seen, none (its counters started from zero).
 * Undefined when a boot seen before has no history left (retention removed
 * it): its growth since then is unknown, so the batch adds nothing.
 */
async function previousSamples(tx: Transaction, kind: BatchKind, bootSeen: boolean, batch: Batch): Promise<Map<string, TimedCounters> | undefined> {
  if (kind === "current") {
    const result = (await tx.execute({ sql: SQL.previousTotals, args: [batch.node] })).rows[0];
    const rows = JSON.parse(String(result?.rows ?? "[]")) as Array<[string, ...number[]]>;
    return new Map(rows.map(([ifname, ifindex, ts, ...counters]) => [ifname, timedCounters(ifindex!, ts!, counters)]));
  }
  if (!bootSeen) return new Map();
  const row = (await tx.execute({ sql: SQL.previousOfBoot, args: [batch.node, batch.ts, batch.bootId] })).rows[0];
  if (row === undefined) return undefined;
  const ts = Number(row.ts);
  const entries = JSON.parse(String(row.interfaces)) as Array<[string, number, ...number[]]>;
  return new Map(entries.map(([ifname, ifindex, ...counters]) => [ifname, timedCounters(ifindex, ts, counters)]));
}

/** counters: rxPackets, rxBytes, txPackets, txBytes, drops, as in INTERFACE_ROW_KEYS. */
function timedCounters(ifindex: number, ts: number, [rxPackets, rxBytes, txPackets, txBytes, drops]: number[]): TimedCounters {
  return { ifindex, ts, rxPackets: rxPackets!, rxBytes: rxBytes!, txPackets: txPackets!, txBytes: txBytes!, drops: drops! };
}

interface InterfaceRows extends JsonRows<(typeof INTERFACE_HISTORY_KEYS)[number]> {
  /** The deltas summed over the interfaces, the longest interval of them: the node's total. */
  total: Deltas;
}

/**
 * The batch's interfaces with the rates and deltas derived from them, in
 * the layout of interface_history (INTERFACE_HISTORY_KEYS): encoded once,
 * stored as-is as the history row and unpacked by SQLite into the totals.
 */
function interfaceRows(batch: Batch, previous: Map<string, TimedCounters> | undefined): InterfaceRows {
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
      f.ifname, f.ifindex, f.rxPackets, f.rxBytes, f.txPackets, f.txBytes, f.drops,
      r.rxPacketsPerSec, r.rxBytesPerSec, r.txPacketsPerSec, r.txBytesPerSec,
      d.rxPackets, d.rxBytes, d.txPackets, d.txBytes, d.drops, d.intervalMs,
    ];
  });
  return { ...jsonRows(INTERFACE_HISTORY_KEYS, values), total };
}

async function saveHistory(tx: Transaction, batch: Batch, rows: InterfaceRows) {
  const t = rows.total;
  await tx.execute({
    sql: SQL.saveHistory,
    args: [batch.node, batch.bootId, batch.ts, rows.json, t.rxPackets, t.rxBytes, t.txPackets, t.txBytes, t.drops, t.intervalMs],
  });
}

async function desiredState(tx: Transaction, node: string): Promise<DesiredState> {
  const row = (await tx.execute({ sql: SQL.desired, args: [node] })).rows[0];
  return toDesiredState(Number(row?.version ?? 0), row === undefined ? {} : JSON.parse(String(row.modules)));
}
