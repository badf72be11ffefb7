// SPDX-License-Identifier: Apache-2.0
/**
 * Deleting a node (DELETE /api/v1/nodes/:node, the node page, and the
 * automatic removal of nodes Lost for EBPF_K8S_REMOVE_LOST_NODES_AFTER):
 * everything the registry holds of it goes in one write transaction: its
 * credentials (an agent still running with one gets 401 and must join again
 * with a join token; a batch or lb poll already past its credential check
 * stores nothing: control/ingest/store.ts and control/services/nodes.ts
 * check again in their transactions), its desired state (overrides), its boots, current
 * interface totals, inventory, monitoring counters, current pods, lb poll
 * state and DNS totals. A join of the same name later starts fresh: the
 * defaults, no overrides, new boots.
 *
 * Its statistics (interface history and rollups, flow/TCP/drop/DNS rows, lb
 * counters summed over nodes) are not deleted: they age out with retention
 * (EBPF_K8S_RETENTION_*, 30 days at most by default). Deleting them would be
 * a delete over the largest tables inside the write queue, holding every
 * agent's ingest for as long, to remove what retention removes anyway; and
 * what a node did before it went is what one looks at after (the service map
 * and flow explorer keep showing its flows for the window they cover).
 */
import { and, eq, inArray, isNull, lte, or, sql } from "drizzle-orm";
import type { Db, Queryable } from "../db/client.ts";
import {
  boots,
  dnsNodeTotals,
  interfaces,
  lbNodes,
  nodeCredentials,
  nodeInventories,
  nodeMonitoring,
  nodes,
  pods,
  settings,
} from "../db/schema.ts";
import { writeTransaction } from "../db/write-queue.ts";
import { type Periodic, repeatEvery } from "../periodic.ts";
import { forgetDesiredState } from "./desired-state.ts";

/** The tables keyed by node that deleting it empties (besides desired_states, see forgetDesiredState). */
const NODE_TABLES = [
  { table: boots, node: boots.node },
  { table: interfaces, node: interfaces.node },
  { table: nodeInventories, node: nodeInventories.node },
  { table: nodeMonitoring, node: nodeMonitoring.node },
  { table: pods, node: pods.node },
  { table: lbNodes, node: lbNodes.node },
  { table: dnsNodeTotals, node: dnsNodeTotals.node },
  { table: nodeCredentials, node: nodeCredentials.node },
  { table: nodes, node: nodes.name },
] as const;

/** Who removed a node: an admin (API, node page), or the removal of nodes Lost too long. */
export type RemovedBy = "admin" | "lost";
const REMOVED_BY: readonly RemovedBy[] = ["admin", "lost"];
/** The settings rows counting removals (ebpf_k8s_nodes_removed_total): in the database, the same for every replica. */
const removedKey = (by: RemovedBy) => `nodes_removed.${by}`;

/** False for a node the registry does not know (never joined, reported, nor was switched). */
export function deleteNode(db: Db, node: string, now: number): Promise<boolean> {
  return writeTransaction(db, (tx) => deleteIn(tx, node, now, "admin"));
}

/** Nodes removed since the database was made, by whom. */
export async function nodesRemoved(db: Queryable): Promise<Record<RemovedBy, number>> {
  const rows = await db.select().from(settings).where(inArray(settings.key, REMOVED_BY.map(removedKey)));
  const count = (by: RemovedBy) => Number(rows.find((r) => r.key === removedKey(by))?.value ?? 0);
  return { admin: count("admin"), lost: count("lost") };
}

async function deleteIn(tx: Queryable, node: string, now: number, by: RemovedBy): Promise<boolean> {
  let known = await forgetDesiredState(tx, node, now);
  for (const { table, node: column } of NODE_TABLES) {
    const deleted = await tx.delete(table).where(eq(column, node)).returning({ node: column });
    known ||= deleted.length > 0;
  }
  if (known) {
    await tx
      .insert(settings)
      .values({ key: removedKey(by), value: "1", updatedAt: now })
      .onConflictDoUpdate({
        target: settings.key,
        set: { value: sql`CAST(CAST(${settings.value} AS INTEGER) + 1 AS TEXT)`, updatedAt: now },
      });
  }
  return known;
}

/**
 * Deletes the nodes Lost for longer than `removeAfterMs`: nothing heard from them (batch, lb-state poll, join)
 * for `lostAfterMs + removeAfterMs`. Each is checked again inside its own transaction, so a node that came
 * back meanwhile stays. Answers the names removed.
 */
export async function removeLostNodes(
  db: Db,
  now: number,
  { lostAfterMs, removeAfterMs }: { lostAfterMs: number; removeAfterMs: number },
): Promise<string[]> {
  const before = now - lostAfterMs - removeAfterMs;
  const candidates = await lostBefore(db, before);
  const removed: string[] = [];
  for (const node of candidates) {
    const gone = await writeTransaction(db, async (tx) => {
      if (!(await lostBefore(tx, before, node)).includes(node)) return false;
      return deleteIn(tx, node, now, "lost");
    });
    if (gone) removed.push(node);
  }
  return removed;
}

/**
 * Nodes (all, or `only`) whose last batch, lb-state poll and live credential's join are all at `before` or earlier
 * (Lost counts from the same signs as a join's check, control/registry/node-credentials.ts).
 */
async function lostBefore(db: Queryable, before: number, only?: string): Promise<string[]> {
  const rows = await db
    .select({ name: nodes.name })
    .from(nodes)
    .leftJoin(lbNodes, eq(lbNodes.node, nodes.name))
    .where(
      and(
        only === undefined ? undefined : eq(nodes.name, only),
        lte(nodes.lastSeen, before),
        or(isNull(lbNodes.polledAt), lte(lbNodes.polledAt, before)),
        sql`NOT EXISTS (SELECT 1 FROM ${nodeCredentials} WHERE ${nodeCredentials.node} = ${nodes.name}
          AND ${nodeCredentials.revokedAt} IS NULL AND ${nodeCredentials.createdAt} > ${before})`,
      ),
    )
    .orderBy(nodes.name);
  return rows.map((r) => r.name);
}

export interface LostNodeRemoval {
  /** How often to look (the maintenance interval). */
  intervalMs: number;
  lostAfterMs: number;
  /** EBPF_K8S_REMOVE_LOST_NODES_AFTER. */
  removeAfterMs: number;
}

/**
 * The once-only job (control/once-only.ts) that removes nodes Lost too long and logs each; a second replica
 * doing the same at once would find nothing left (each removal checks again in its transaction).
 */
export function startLostNodeRemoval(
  db: Db,
  o: LostNodeRemoval,
  log: (line: string) => void = console.log,
  now: () => number = Date.now,
): Periodic {
  const after = `${o.removeAfterMs / 1000} s`;
  return repeatEvery(
    o.intervalMs,
    async () => {
      for (const node of await removeLostNodes(db, now(), o)) {
        log(`node ${node} removed: Lost for longer than EBPF_K8S_REMOVE_LOST_NODES_AFTER (${after})`);
      }
    },
    (err) => console.error("removing lost nodes failed:", err),
  );
}
