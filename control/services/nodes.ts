// SPDX-License-Identifier: Apache-2.0
/**
 * Which lb version each node has applied: a node polling
 * GET /api/v1/lb/state?after=V has programmed V (the agent asks for what
 * comes after the state it runs).
 */
import { and, asc, eq, gt, isNull } from "drizzle-orm";
import type { Db, Queryable } from "../db/client.ts";
import { lbNodes, nodeCredentials } from "../db/schema.ts";
import { writeTransaction } from "../db/write-queue.ts";

/**
 * An unchanged applied version is written again at most this often: enough
 * to tell a node that still polls from one that stopped, without a write per
 * poll (long polls from a thousand nodes would be forty a second).
 */
export const LB_POLL_REFRESH_MS = 30_000;

const written = new WeakMap<object, Map<string, { applied: number | null; at: number }>>();

/** Records that `node` polled at `now` having applied `applied` (null: none yet). */
export async function recordPoll(db: Db, node: string, applied: number | null, now: number): Promise<void> {
  let seen = written.get(db.$client);
  if (seen === undefined) written.set(db.$client, seen = new Map());
  const last = seen.get(node);
  if (last !== undefined && last.applied === applied && now - last.at < LB_POLL_REFRESH_MS) return;
  const recorded = await writeTransaction(db, async (tx) => {
    // The route checked the poll's credential before this waited for the write queue: a node deleted meanwhile
    // (control/registry/node-removal.ts), or whose credentials were revoked, gets no row back.
    const live = await tx
      .select({ node: nodeCredentials.node })
      .from(nodeCredentials)
      .where(and(eq(nodeCredentials.node, node), isNull(nodeCredentials.revokedAt)))
      .get();
    if (live === undefined) return false;
    await tx
      .insert(lbNodes)
      .values({ node, appliedVersion: applied, polledAt: now })
      .onConflictDoUpdate({ target: lbNodes.node, set: { appliedVersion: applied, polledAt: now } });
    return true;
  });
  if (recorded) seen.set(node, { applied, at: now });
}

export interface NodeSync {
  node: string;
  /** The lb version it runs; null when it has none yet. */
  appliedVersion: number | null;
  polledAt: number;
}

/** Nodes that polled since `since` (the others are gone or have the lb module off), by name. */
export async function pollingNodes(db: Queryable, since: number): Promise<NodeSync[]> {
  return db.select().from(lbNodes).where(gt(lbNodes.polledAt, since)).orderBy(asc(lbNodes.node));
}

/** How many of `nodes` run `version` or a later one (a service changed at `version` is in sync there). */
export function inSync(nodes: readonly NodeSync[], version: number): number {
  return nodes.filter((n) => n.appliedVersion !== null && n.appliedVersion >= version).length;
}
