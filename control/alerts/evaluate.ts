// SPDX-License-Identifier: Apache-2.0
/**
 * Alert evaluation, run every EBPF_K8S_ALERT_INTERVAL by the entry point
 * (startAlerting) and by tests directly with a pinned `now`.
 *
 * For each enabled threshold and each of its targets (values.ts):
 * - out of the limits (strictly above the upper or below the lower): the
 *   hold starts (an alert_pending row, `since` = this evaluation); once the
 *   value has been out at every evaluation for holdSeconds (now − since ≥
 *   hold), the alert fires. A hold of 0 fires at the first evaluation out.
 *   An active alert follows the value (peak, trough, latest).
 * - within the limits: the hold ends, and an active alert resolves at once
 *   ("recovered"), with no hold on resolving: the hold before firing already
 *   keeps a value hovering at the limit from flapping.
 * - no value (a pod gone, a rate not known yet): the same as within, with
 *   the reason "no-data". A silent node is not "no value": its heartbeat
 *   age grows and its traffic counts as 0 (values.ts).
 *
 * Resolved alerts are kept for the retention of the 1 h statistics
 * (EBPF_K8S_RETENTION_1H), then deleted.
 *
 * Holds and alerts live in the database, and one write transaction reads and
 * changes them, so a restart continues a hold where it was (a value out of
 * the limits before and after counts as out meanwhile) and replicas
 * evaluating at once neither fire twice nor lose one (the unique index on
 * active alerts backs this up). With replicas only the holder of the lease
 * evaluates (control/lease/). The values are read before it, outside the
 * write queue.
 *
 * Every alert that fires or resolves gets its notifications (control/notify/)
 * in the same transaction: an outbox row per enabled receiver.
 */
import { and, eq, isNull, lt, sql } from "drizzle-orm";
import type { Db, Tx } from "../db/client.ts";
import {
  alertPending,
  type AlertRow,
  alerts,
  type PendingRow,
  type ResolvedReason,
  type ThresholdRow,
  thresholds,
} from "../db/schema.ts";
import { writeTransaction } from "../db/write-queue.ts";
import type { Fence } from "../lease/lease.ts";
import { type Periodic, repeatEvery } from "../periodic.ts";
import { enqueueNotifications } from "../notify/outbox.ts";
import { crossed, targetKindOf } from "./model.ts";
import { readValues, type TargetValue, type ValueSettings } from "./values.ts";

export interface EvaluationResult {
  fired: number;
  resolved: number;
  /** Targets out of their limits, hold not over yet. */
  pending: number;
}

/**
 * `fence` runs first in the write transaction: with replicas, the lease's
 * check (control/lease/), so a replica that lost the lease writes nothing.
 */
export async function evaluateAlerts(
  db: Db,
  now: number,
  settings: ValueSettings,
  fence?: Fence,
): Promise<EvaluationResult> {
  // One read per metric and kind of target, shared by the thresholds that need it.
  const keyOf = (t: Pick<ThresholdRow, "metric" | "scopeKind">) => `${t.metric}:${targetKindOf(t.scopeKind)}`;
  const wanted = new Map(
    (await db.select().from(thresholds).where(eq(thresholds.enabled, true))).map((t) => [keyOf(t), t]),
  );
  const values = new Map(
    await Promise.all(
      [...wanted].map(async ([key, t]) =>
        [key, await readValues(db, t.metric, targetKindOf(t.scopeKind), now, settings)] as const
      ),
    ),
  );

  return writeTransaction(db, async (tx) => {
    await fence?.(tx);
    const result: EvaluationResult = { fired: 0, resolved: 0, pending: 0 };
    const events: Events = { fired: [], resolved: [] };
    // Read again in the queue: a threshold changed or deleted meanwhile is judged as it is now
    // (one whose metric was not read above waits for the next evaluation).
    const all = await tx.select().from(thresholds).orderBy(sql`rowid`); // in the order made: alerts fire in a stable order
    const enabled = all.filter((t) => t.enabled && values.has(keyOf(t)));
    const pending = groupBy(await tx.select().from(alertPending), (p) => p.thresholdId);
    const active = groupBy(await tx.select().from(alerts).where(isNull(alerts.resolvedAt)), (a) => a.thresholdId);
    for (const t of enabled) {
      const held = new Map((pending.get(t.id) ?? []).map((p) => [p.target, p]));
      const firing = new Map((active.get(t.id) ?? []).map((a) => [a.target, a]));
      const current = values.get(keyOf(t))!;
      const targets = t.target === null ? [...current.keys()] : [t.target];
      for (const target of new Set([...targets, ...held.keys(), ...firing.keys()])) {
        const state = {
          threshold: t,
          target,
          value: current.get(target),
          pending: held.get(target),
          alert: firing.get(target),
        };
        const step = await evaluateTarget(tx, state, now, events);
        if (step !== "unchanged") result[step]++;
      }
    }
    // The history is kept as long as the hourly statistics it can be compared with.
    await tx.delete(alerts).where(lt(alerts.resolvedAt, now - settings.retention["1h"]));
    // Safety net for thresholds switched off or deleted by another replica (their routes close them too).
    for (const [id, rows] of active) {
      const t = all.find((x) => x.id === id);
      if (t?.enabled) continue;
      for (const a of rows) {
        await resolve(tx, a.id, now, t === undefined ? "threshold-deleted" : "threshold-disabled", events);
      }
      result.resolved += rows.length;
    }
    await enqueueNotifications(tx, events.fired, "firing", now);
    await enqueueNotifications(tx, events.resolved, "resolved", now);
    return result;
  });
}

/** The alerts that fired and resolved in one transaction, notified at its end. */
interface Events {
  fired: number[];
  resolved: number[];
}

interface TargetState {
  threshold: ThresholdRow;
  target: string;
  value: TargetValue | undefined;
  pending: PendingRow | undefined;
  alert: AlertRow | undefined;
}

/** One target's step; says what it is now (or became). */
async function evaluateTarget(
  tx: Tx,
  s: TargetState,
  now: number,
  events: Events,
): Promise<keyof EvaluationResult | "unchanged"> {
  const { threshold: t, target, pending, alert } = s;
  const value = s.value?.value ?? null;
  const bound = crossed(t, value);
  const where = and(eq(alertPending.thresholdId, t.id), eq(alertPending.target, target));
  if (bound === null) {
    if (pending) await tx.delete(alertPending).where(where);
    if (!alert) return "unchanged";
    await resolve(tx, alert.id, now, value === null ? "no-data" : "recovered", events);
    return "resolved";
  }
  const v = value!;
  if (alert) {
    if (v !== alert.lastValue) {
      await tx.update(alerts).set({ lastValue: v, peak: Math.max(alert.peak, v), trough: Math.min(alert.trough, v) })
        .where(eq(alerts.id, alert.id));
    }
    return "unchanged";
  }
  const since = pending?.since ?? now;
  const peak = Math.max(pending?.peak ?? v, v);
  const trough = Math.min(pending?.trough ?? v, v);
  if (now - since < t.holdSeconds * 1000) {
    if (pending?.lastValue !== v) {
      const row = { thresholdId: t.id, target, since, peak, trough, lastValue: v };
      await tx.insert(alertPending).values(row).onConflictDoUpdate({
        target: [alertPending.thresholdId, alertPending.target],
        set: { peak, trough, lastValue: v },
      });
    }
    return "pending";
  }
  if (pending) await tx.delete(alertPending).where(where);
  const [made] = await tx.insert(alerts).values({
    // SQLite numbers a new row max(id) + 1, so once the history is pruned to nothing an alert would get a pruned one's
    // id, and the outbox (one row per receiver, alert id and status) would take its events for sent ones and drop
    // them: the first alert of a transaction is numbered past the outbox's too (the others follow it).
    ...(events.fired.length === 0
      ? {
        id: sql`(SELECT max(coalesce(max(id), 0), (SELECT coalesce(max(alert_id), 0) FROM alert_notifications)) + 1
          FROM alerts)`,
      }
      : {}),
    thresholdId: t.id,
    metric: t.metric,
    scopeKind: t.scopeKind,
    target,
    node: s.value!.node,
    bound,
    upper: t.upper,
    lower: t.lower,
    holdSeconds: t.holdSeconds,
    description: t.description,
    breachedSince: since,
    firedAt: now,
    value: v,
    peak,
    trough,
    lastValue: v,
  }).returning({ id: alerts.id });
  events.fired.push(made!.id);
  return "fired";
}

async function resolve(tx: Tx, id: number, now: number, reason: ResolvedReason, events: Events) {
  await tx.update(alerts).set({ resolvedAt: now, resolvedReason: reason }).where(eq(alerts.id, id));
  events.resolved.push(id);
}

/**
 * Ends what a threshold has going: drops its holds and resolves its active
 * alerts, when it is deleted, switched off, or made to watch another metric
 * or scope (inside that change's transaction).
 */
export async function closeThreshold(tx: Tx, id: string, now: number, reason: ResolvedReason): Promise<void> {
  await tx.delete(alertPending).where(eq(alertPending.thresholdId, id));
  const closed = await tx
    .update(alerts)
    .set({ resolvedAt: now, resolvedReason: reason })
    .where(and(eq(alerts.thresholdId, id), isNull(alerts.resolvedAt)))
    .returning({ id: alerts.id });
  await enqueueNotifications(tx, closed.map((a) => a.id), "resolved", now);
}

function groupBy<T>(items: readonly T[], key: (item: T) => string): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const item of items) {
    const group = out.get(key(item));
    if (group) group.push(item);
    else out.set(key(item), [item]);
  }
  return out;
}

/** Evaluates every `intervalMs` until stopped; a failed run is reported and the next one tries again. */
export function startAlerting(
  db: Db,
  settings: ValueSettings & { intervalMs: number },
  opts: {
    now?: () => number;
    logError?: (message: string, err: unknown) => void;
    fence?: Fence;
  } = {},
): Periodic {
  const now = opts.now ?? Date.now;
  const logError = opts.logError ?? ((message, err) => console.error(message, err));
  return repeatEvery(
    settings.intervalMs,
    () => evaluateAlerts(db, now(), settings, opts.fence),
    (err) => logError("alert evaluation failed:", err),
  );
}
