// SPDX-License-Identifier: Apache-2.0
/**
 * Desired state: which modules each node should run, versioned per node.
 *
 * A node nobody switched runs DEFAULT_MODULES at version 0. Each switch that
 * changes something raises the version by one; switching a module to the
 * value it already has changes nothing (PUT is idempotent). Switching a node
 * that has never joined is allowed (pre-provisioning): the row waits, and the
 * node's JoinResponse and first BatchAck already carry it.
 */
import { eq } from "drizzle-orm";
import type { Db, Queryable } from "../db/client.ts";
import { desiredStates } from "../db/schema.ts";
import { writeTransaction } from "../db/write-queue.ts";
import { DEFAULT_MODULES, type DesiredState, type ModuleName, MODULES } from "../wire/batch.ts";

export async function desiredStateOf(db: Queryable, node: string): Promise<DesiredState> {
  const row = await db.select().from(desiredStates).where(eq(desiredStates.node, node)).get();
  return toDesiredState(row?.version ?? 0, row?.modules ?? {});
}

export function switchModule(
  db: Db,
  node: string,
  module: ModuleName,
  enabled: boolean,
  now: number,
): Promise<DesiredState> {
  return writeTransaction(db, async (tx) => {
    const row = await tx.select().from(desiredStates).where(eq(desiredStates.node, node)).get();
    const current = toDesiredState(row?.version ?? 0, row?.modules ?? {});
    if (current.modules[module] === enabled) return current;

    const modules = { ...row?.modules, [module]: enabled };
    const version = current.version + 1;
    await tx
      .insert(desiredStates)
      .values({ node, version, modules, updatedAt: now })
      .onConflictDoUpdate({ target: desiredStates.node, set: { version, modules, updatedAt: now } });
    return toDesiredState(version, modules);
  });
}

/** Switched modules over the defaults; a module added to MODULES later starts at its default. */
export function toDesiredState(version: number, switched: Partial<Record<ModuleName, boolean>>): DesiredState {
  const modules = { ...DEFAULT_MODULES };
  for (const name of MODULES) if (typeof switched[name] === "boolean") modules[name] = switched[name];
  return { version, modules };
}
