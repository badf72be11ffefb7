// SPDX-License-Identifier: Apache-2.0
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
import type { SqlTransaction } from "../db/prepared.ts";
import type { Db } from "../db/client.ts";
import { insertJsonRows } from "../db/json-rows.ts";
import { INTERFACE_ROW_KEYS, interfaces } from "../db/schema.ts";
import { groupCommit } from "../db/group-commit.ts";
import { forgetPodDirectory, podDirectory } from "../monitoring-store/directory.ts";
import { forgetEndpointCache } from "../monitoring-store/endpoint-cache.ts";
import { storeMonitoring } from "../monitoring-store/ingest.ts";
import { DEFAULT_MONITORING_SETTINGS, type MonitoringSettings } from "../monitoring-store/settings.ts";
import { storeAccelCounters } from "../accel/rules.ts";
import { storeLbCounters } from "../services/counters.ts";
import type { FlowRow } from "../monitoring/flows.ts";
import type { Batch, BatchAck } from "../wire/batch.ts";
import { desiredForWireVersion } from "../wire/version.ts";
import { interfaceRows, previousOfBoot, saveHistory } from "./interface-samples.ts";
import { type NodeState, readNodeState, type StoredNode } from "./node-state.ts";

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

const SQL = {
  insertNode: "INSERT INTO nodes (name, boot_id, last_seq, last_ts, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)",
  advanceNode: "UPDATE nodes SET boot_id = ?, last_seq = ?, last_ts = ?, last_seen = ? WHERE name = ?",
  touchNode: "UPDATE nodes SET last_seen = ? WHERE name = ?",
  saveBoot: "INSERT INTO boots (node, boot_id, last_seq, first_seen, last_seen) VALUES (?, ?, ?, ?, ?) " +
    "ON CONFLICT (node, boot_id) DO UPDATE SET last_seq = excluded.last_seq, last_seen = excluded.last_seen",
  clearTotals: "DELETE FROM interfaces WHERE node = ?",
  saveInventory:
    "INSERT INTO node_inventories (node, agent_version, kernel, inventory, ts, received_at) VALUES (?, ?, ?, ?, ?, ?) " +
    "ON CONFLICT (node) DO UPDATE SET agent_version = excluded.agent_version, kernel = excluded.kernel, " +
    "inventory = excluded.inventory, ts = excluded.ts, received_at = excluded.received_at",
} as const;

/** Batches stored under one commit at most, when they queue up (control/db/group-commit.ts). */
const MAX_BATCHES_PER_COMMIT = 32;

interface Job {
  db: Db;
  batch: Batch;
  receivedAt: number;
  monitoring: MonitoringSettings;
  /** Store only while the node holds a live credential (see NodeCredentialGone). */
  requireCredential: boolean;
}

/**
 * What a job stored: the acknowledgement, and the flow rows for the live stream (none for a duplicate); or
 * nothing, because the node lost its credentials while the batch waited.
 */
type Stored = { ack: BatchAck; flows: FlowRow[] } | { credentialGone: true };

/**
 * The batch's node was deleted (control/registry/node-removal.ts), or its credentials revoked, after the route
 * checked the batch's credential and before the batch's turn in the write queue: nothing of it is stored, so a
 * deleted node does not come back from a batch that was on its way (its agent gets 401 and joins again).
 */
export class NodeCredentialGone extends Error {
  constructor(readonly node: string) {
    super(`node '${node}' holds no live credential any more (deleted or revoked); join again`);
  }
}

/**
 * Told a batch's flow rows once its transaction has committed, never for a
 * rolled-back one nor for a duplicate; batches in commit order (a group's
 * results are handed out in order, each reaction runs in the order resolved).
 */
export type OnFlowsStored = (flows: FlowRow[]) => void;

/** Commits of batches and the batches they stored, per database, since this process started (for /metrics). */
export interface StoreCommits {
  commits: number;
  batches: number;
}

/** Per database: its group commit of batches, and what it committed. */
const stores = new WeakMap<Db, { store: (job: Job) => Promise<Stored>; commits: StoreCommits }>();

function storeOf(db: Db) {
  let entry = stores.get(db);
  if (entry === undefined) {
    const commits: StoreCommits = { commits: 0, batches: 0 };
    const store = groupCommit(db, storeJob, {
      maxGroup: MAX_BATCHES_PER_COMMIT,
      // What is held in memory beside the database may include writes that were rolled back.
      onRollback: () => {
        forgetPodDirectory(db);
        forgetEndpointCache(db);
      },
      onCommit: (batches) => {
        commits.commits++;
        commits.batches += batches;
      },
    });
    stores.set(db, entry = { store, commits });
  }
  return entry;
}

export const storeCommits = (db: Db): StoreCommits => storeOf(db).commits;

/** Stores `batch` and answers with its acknowledgement, which carries the node's desired state. */
export function storeBatch(
  db: Db,
  batch: Batch,
  receivedAt: number,
  monitoring: MonitoringSettings = DEFAULT_MONITORING_SETTINGS,
  onFlowsStored?: OnFlowsStored,
  /** The route's: the batch came with the node's credential, which must still be live (else NodeCredentialGone). */
  requireCredential = false,
): Promise<BatchAck> {
  // Attached before the group can resolve, so reactions of one group run in its commit order.
  return storeOf(db).store({ db, batch, receivedAt, monitoring, requireCredential }).then((stored) => {
    if ("credentialGone" in stored) throw new NodeCredentialGone(batch.node);
    const { ack, flows } = stored;
    if (!ack.duplicate && flows.length > 0) onFlowsStored?.(flows);
    return ack;
  });
}

async function storeJob(tx: SqlTransaction, job: Job): Promise<Stored> {
  const state = await readNodeState(tx, job.batch);
  if (job.requireCredential && !state.credentialed) return { credentialGone: true };
  const { flows, ...stored } = await storeInTransaction(tx, job, state);
  // an agent of an older wire version gets no module added after it (its strict schema would refuse the answer)
  return { ack: { ok: true, ...stored, desired: desiredForWireVersion(state.desired, job.batch.v) }, flows };
}

async function storeInTransaction(
  tx: SqlTransaction,
  { db, batch, receivedAt, monitoring }: Job,
  state: NodeState,
): Promise<{ seq: number; duplicate: boolean; flows: FlowRow[] }> {
  const { bootLastSeq, node } = state;
  // Already stored (a resend after a lost acknowledgement, or an older batch): change nothing.
  // boots lives in the database, so this holds across control-plane restarts and replicas.
  if (bootLastSeq !== undefined && batch.seq <= bootLastSeq) return { seq: bootLastSeq, duplicate: true, flows: [] };
  const kind = classify(node, batch);

  await saveNode(tx, node, kind, batch, receivedAt);
  await tx.execute({ sql: SQL.saveBoot, args: [batch.node, batch.bootId, batch.seq, receivedAt, receivedAt] });
  // Counts of a late batch too: they are deltas, and a duplicate never gets here.
  await storeLbCounters(tx, batch);
  await storeAccelCounters(tx, batch);

  const directory = await podDirectory(db, tx);
  // The current boot's rates and deltas are taken against its totals; another boot's against its own history.
  const rows = interfaceRows(
    batch,
    kind === "current" ? state.totals : await previousOfBoot(tx, bootLastSeq !== undefined, batch),
  );
  if (kind === "late") {
    await saveHistory(tx, batch, rows);
    const flows = await storeMonitoring(db, tx, directory, batch, false, receivedAt, monitoring);
    return { seq: batch.seq, duplicate: false, flows };
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
  const flows = await storeMonitoring(db, tx, directory, batch, true, receivedAt, monitoring);
  return { seq: batch.seq, duplicate: false, flows };
}

function classify(node: StoredNode | undefined, batch: Batch): BatchKind {
  if (node === undefined) return "new-boot";
  if (node.bootId === batch.bootId) return "current";
  return batch.ts > node.lastTs ? "new-boot" : "late";
}

async function saveNode(
  tx: SqlTransaction,
  node: StoredNode | undefined,
  kind: BatchKind,
  batch: Batch,
  receivedAt: number,
) {
  if (node === undefined) {
    await tx.execute({
      sql: SQL.insertNode,
      args: [batch.node, batch.bootId, batch.seq, batch.ts, receivedAt, receivedAt],
    });
  } else if (kind === "late") {
    // A late batch still shows the agent is alive, but says nothing about the current boot.
    await tx.execute({ sql: SQL.touchNode, args: [receivedAt, batch.node] });
  } else {
    await tx.execute({ sql: SQL.advanceNode, args: [batch.bootId, batch.seq, batch.ts, receivedAt, batch.node] });
  }
}

async function saveInventory(tx: SqlTransaction, batch: Batch, receivedAt: number) {
  const { inventory } = batch;
  if (inventory === undefined) return;
  await tx.execute({
    sql: SQL.saveInventory,
    args: [batch.node, inventory.agentVersion, inventory.kernel, JSON.stringify(inventory), batch.ts, receivedAt],
  });
}
