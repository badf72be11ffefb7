// SPDX-License-Identifier: Apache-2.0
/**
 * Thresholds as stored and shown: create, list, change and delete, each
 * write through the write queue. Changing what a threshold watches (metric
 * or scope), switching it off or deleting it ends its holds and resolves its
 * active alerts in the same transaction; new limits or a new hold time keep
 * them, and the next evaluation judges them by the new numbers.
 */
import { asc, eq, sql } from "drizzle-orm";
import { newId } from "../auth/secrets.ts";
import type { Db, Queryable } from "../db/client.ts";
import { type ThresholdRow, thresholds } from "../db/schema.ts";
import { writeTransaction } from "../db/write-queue.ts";
import { closeThreshold } from "./evaluate.ts";
import { type MetricInfo, type MetricName, METRICS, type Scope, type ThresholdInput } from "./model.ts";

export interface ThresholdView {
  id: string;
  metric: MetricName;
  unit: MetricInfo["unit"];
  scope: Scope;
  upper: number | null;
  lower: number | null;
  holdSeconds: number;
  description: string | null;
  enabled: boolean;
  createdAt: string;
  updatedAt: string;
  /** Targets with an active alert, and targets out of the limits whose hold is not over yet. */
  active: number;
  pending: number;
}

/**
 * Counted in SQL so the list is one query whatever the number of alerts.
 * Written out: drizzle leaves columns unqualified in a one-table select,
 * and an unqualified "id" inside the subquery would be the alert's.
 */
const counts = {
  active: sql<
    number
  >`(SELECT count(*) FROM alerts a WHERE a.threshold_id = "thresholds"."id" AND a.resolved_at IS NULL)`,
  pending: sql<number>`(SELECT count(*) FROM alert_pending p WHERE p.threshold_id = "thresholds"."id")`,
};

/** Oldest first (in the order made), so the list does not reorder as thresholds are edited. */
export async function listThresholds(db: Queryable): Promise<ThresholdView[]> {
  const rows = await db.select({ row: thresholds, ...counts }).from(thresholds).orderBy(
    asc(thresholds.createdAt),
    sql`"thresholds".rowid`,
  );
  return rows.map(({ row, active, pending }) => toView(row, active, pending));
}

export async function getThreshold(db: Queryable, id: string): Promise<ThresholdView | undefined> {
  const found = await db.select({ row: thresholds, ...counts }).from(thresholds).where(eq(thresholds.id, id)).get();
  return found === undefined ? undefined : toView(found.row, found.active, found.pending);
}

export async function createThreshold(db: Db, input: ThresholdInput, now: number): Promise<ThresholdView> {
  const row: ThresholdRow = { id: newId(), ...thresholdColumns(input), createdAt: now, updatedAt: now };
  await writeTransaction(db, (tx) => tx.insert(thresholds).values(row));
  return toView(row, 0, 0);
}

/** Undefined for an unknown id. */
export function updateThreshold(
  db: Db,
  id: string,
  input: ThresholdInput,
  now: number,
): Promise<ThresholdView | undefined> {
  return writeTransaction(db, async (tx) => {
    const old = await tx.select().from(thresholds).where(eq(thresholds.id, id)).get();
    if (old === undefined) return undefined;
    const next = thresholdColumns(input);
    if (old.enabled && !next.enabled) await closeThreshold(tx, id, now, "threshold-disabled");
    else if (old.metric !== next.metric || old.scopeKind !== next.scopeKind || old.target !== next.target) {
      await closeThreshold(tx, id, now, "threshold-changed");
    }
    await tx.update(thresholds).set({ ...next, updatedAt: now }).where(eq(thresholds.id, id));
    return getThreshold(tx, id);
  });
}

/** Undefined for an unknown id; the deleted threshold otherwise (its alerts stay in the history, resolved). */
export function deleteThreshold(db: Db, id: string, now: number): Promise<ThresholdView | undefined> {
  return writeTransaction(db, async (tx) => {
    const view = await getThreshold(tx, id);
    if (view === undefined) return undefined;
    await closeThreshold(tx, id, now, "threshold-deleted");
    await tx.delete(thresholds).where(eq(thresholds.id, id));
    return { ...view, active: 0, pending: 0 };
  });
}

/** Names a threshold may target (every node, every current pod as "namespace/name"), for the form's suggestions. */
export async function knownTargets(db: Db, limit = 2_000): Promise<string[]> {
  const sql =
    "SELECT name AS t FROM nodes UNION SELECT namespace || '/' || name FROM pods WHERE vanished_at IS NULL ORDER BY 1 LIMIT ?";
  return (await db.$client.execute({ sql, args: [limit] })).rows.map((r) => String(r.t));
}

/** The scope as the API shows and takes it: a target only for "node" and "pod". */
export function scopeOf(kind: ThresholdRow["scopeKind"], target: string | null): Scope {
  return kind === "node" || kind === "pod" ? { kind, target: target ?? "" } : { kind };
}

/** A threshold's input as its columns (also the default thresholds', defaults.ts). */
export function thresholdColumns(input: ThresholdInput) {
  return {
    metric: input.metric,
    scopeKind: input.scope.kind,
    target: "target" in input.scope ? input.scope.target : null,
    upper: input.upper ?? null,
    lower: input.lower ?? null,
    holdSeconds: input.holdSeconds,
    description: input.description || null,
    enabled: input.enabled,
  };
}

/** What a threshold says, as its view and its alerts' (which copy it) show it. */
export function thresholdFields(row: Pick<ThresholdRow, "metric" | "upper" | "lower" | "holdSeconds" | "description">) {
  const { metric, upper, lower, holdSeconds, description } = row;
  return { metric, unit: METRICS[metric].unit, upper, lower, holdSeconds, description };
}

function toView(row: ThresholdRow, active: number, pending: number): ThresholdView {
  return {
    id: row.id,
    ...thresholdFields(row),
    scope: scopeOf(row.scopeKind, row.target),
    enabled: row.enabled,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
    active: Number(active),
    pending: Number(pending),
  };
}
