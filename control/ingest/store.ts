/**
 * Stores one validated batch: idempotently, and all of it or nothing (one
 * transaction).
 */
import { and, eq, getTableColumns, sql } from "drizzle-orm";
import type { Db, Tx } from "../db/client.ts";
import { boots, interfaceSamples, interfaces, nodeInventories, nodes, type InterfaceRow, type NodeRow } from "../db/schema.ts";
import { writeTransaction } from "../db/write-queue.ts";
import { desiredStateOf } from "../registry/desired-state.ts";
import type { Batch, BatchAck } from "../wire/batch.ts";
import { NO_RATES, ratesBetween, type Rates } from "./rates.ts";

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

/** Keeps each INSERT well under SQLite's limit of 32766 bound parameters (≈15 per row). */
const ROWS_PER_INSERT = 500;

/** Stores `batch` and answers with its acknowledgement, which carries the node's desired state. */
export function storeBatch(db: Db, batch: Batch, receivedAt: number): Promise<BatchAck> {
  return writeTransaction(db, async (tx) => {
    const stored = await storeInTransaction(tx, batch, receivedAt);
    return { ok: true, ...stored, desired: await desiredStateOf(tx, batch.node) };
  });
}

async function storeInTransaction(tx: Tx, batch: Batch, receivedAt: number): Promise<{ seq: number; duplicate: boolean }> {
  const boot = await tx
    .select()
    .from(boots)
    .where(and(eq(boots.node, batch.node), eq(boots.bootId, batch.bootId)))
    .get();
  // Already stored (a resend after a lost acknowledgement, or an older batch): change nothing.
  // boots lives in the database, so this holds across control-plane restarts and replicas.
  if (boot !== undefined && batch.seq <= boot.lastSeq) return { seq: boot.lastSeq, duplicate: true };

  const node = await tx.select().from(nodes).where(eq(nodes.name, batch.node)).get();
  const kind = classify(node, batch);

  await saveNode(tx, node, kind, batch, receivedAt);
  await saveBoot(tx, batch, receivedAt);

  let rates: Rates[];
  if (kind === "late") {
    rates = batch.interfaces.map(() => NO_RATES);
  } else {
    const previous = kind === "current" ? await currentTotals(tx, batch.node) : new Map<string, InterfaceRow>();
    // Totals of a replaced boot would mix two counting epochs; its history stays in interface_samples.
    if (kind === "new-boot") await tx.delete(interfaces).where(eq(interfaces.node, batch.node));
    rates = batch.interfaces.map((iface) => ratesBetween(previous.get(iface.ifname), { ...iface, ts: batch.ts }));
    await saveTotals(tx, batch, rates, receivedAt);
    // A late batch's inventory is older than the one stored: keep the newer.
    await saveInventory(tx, batch, receivedAt);
  }
  await saveSamples(tx, batch, rates);
  return { seq: batch.seq, duplicate: false };
}

function classify(node: NodeRow | undefined, batch: Batch): BatchKind {
  if (node === undefined) return "new-boot";
  if (node.bootId === batch.bootId) return "current";
  return batch.ts > node.lastTs ? "new-boot" : "late";
}

async function saveNode(tx: Tx, node: NodeRow | undefined, kind: BatchKind, batch: Batch, receivedAt: number) {
  if (node === undefined) {
    await tx.insert(nodes).values({
      name: batch.node,
      bootId: batch.bootId,
      lastSeq: batch.seq,
      lastTs: batch.ts,
      firstSeen: receivedAt,
      lastSeen: receivedAt,
    });
    return;
  }
  // A late batch still shows the agent is alive, but says nothing about the current boot.
  const progress = kind === "late" ? {} : { bootId: batch.bootId, lastSeq: batch.seq, lastTs: batch.ts };
  await tx
    .update(nodes)
    .set({ ...progress, lastSeen: receivedAt })
    .where(eq(nodes.name, batch.node));
}

async function saveBoot(tx: Tx, batch: Batch, receivedAt: number) {
  await tx
    .insert(boots)
    .values({ node: batch.node, bootId: batch.bootId, lastSeq: batch.seq, firstSeen: receivedAt, lastSeen: receivedAt })
    .onConflictDoUpdate({ target: [boots.node, boots.bootId], set: { lastSeq: batch.seq, lastSeen: receivedAt } });
}

async function saveInventory(tx: Tx, batch: Batch, receivedAt: number) {
  const { inventory } = batch;
  if (inventory === undefined) return;
  const row = { agentVersion: inventory.agentVersion, kernel: inventory.kernel, inventory, ts: batch.ts, receivedAt };
  await tx
    .insert(nodeInventories)
    .values({ node: batch.node, ...row })
    .onConflictDoUpdate({ target: nodeInventories.node, set: row });
}

async function currentTotals(tx: Tx, node: string): Promise<Map<string, InterfaceRow>> {
  const rows = await tx.select().from(interfaces).where(eq(interfaces.node, node));
  return new Map(rows.map((row) => [row.ifname, row]));
}

/** On conflict, every column but the key takes the new row's value. */
const replaceTotalsOnConflict = Object.fromEntries(
  Object.entries(getTableColumns(interfaces))
    .filter(([key]) => key !== "node" && key !== "ifname")
    .map(([key, column]) => [key, sql`excluded.${sql.identifier(column.name)}`]),
);

async function saveTotals(tx: Tx, batch: Batch, rates: Rates[], receivedAt: number) {
  const rows = batch.interfaces.map((iface, i) => ({
    node: batch.node,
    ...iface,
    ...rates[i]!,
    ts: batch.ts,
    updatedAt: receivedAt,
  }));
  for (const chunk of chunks(rows, ROWS_PER_INSERT)) {
    await tx
      .insert(interfaces)
      .values(chunk)
      .onConflictDoUpdate({ target: [interfaces.node, interfaces.ifname], set: replaceTotalsOnConflict });
  }
}

async function saveSamples(tx: Tx, batch: Batch, rates: Rates[]) {
  const rows = batch.interfaces.map((iface, i) => ({
    node: batch.node,
    bootId: batch.bootId,
    ts: batch.ts,
    ...iface,
    ...rates[i]!,
  }));
  for (const chunk of chunks(rows, ROWS_PER_INSERT)) await tx.insert(interfaceSamples).values(chunk);
}

function chunks<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
