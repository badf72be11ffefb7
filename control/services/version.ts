// SPDX-License-Identifier: Apache-2.0
/**
 * The lb version: one number for the whole set of services, raised by one in
 * the transaction of every change (so a version names exactly one state),
 * and what agents poll with (GET /api/v1/lb/state?after=).
 */
import { eq, sql } from "drizzle-orm";
import type { Queryable, Tx } from "../db/client.ts";
import { lbVersion } from "../db/schema.ts";

const ROW = 1;

/** 0 before the first change. */
export async function readVersion(db: Queryable): Promise<number> {
  const row = await db.select({ version: lbVersion.version }).from(lbVersion).where(eq(lbVersion.id, ROW)).get();
  return row?.version ?? 0;
}

/** Raises the version by one inside `tx` and returns the new one. */
export async function bumpVersion(tx: Tx, now: number): Promise<number> {
  const [row] = await tx
    .insert(lbVersion)
    .values({ id: ROW, version: 1, updatedAt: now })
    .onConflictDoUpdate({ target: lbVersion.id, set: { version: sql`${lbVersion.version} + 1`, updatedAt: now } })
    .returning({ version: lbVersion.version });
  return row!.version;
}
