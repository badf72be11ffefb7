// SPDX-License-Identifier: Apache-2.0
/**
 * Alerts as the API and the pages show them: active ones first (latest
 * fired first), then the history (latest resolved first).
 */
import { and, desc, eq, gte, isNotNull, isNull, or, type SQL, sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { type AlertRow, alerts, type ResolvedReason } from "../db/schema.ts";
import { isoOrNull } from "../queries/time.ts";
import { type MetricInfo, type MetricName, type Scope, type TargetKind, targetKindOf } from "./model.ts";
import { scopeOf, thresholdFields } from "./thresholds.ts";

export interface AlertView {
  id: number;
  state: "active" | "resolved";
  thresholdId: string;
  metric: MetricName;
  unit: MetricInfo["unit"];
  /** The threshold's scope when the alert fired. */
  scope: Scope;
  targetKind: TargetKind;
  /** The node, or the pod as "namespace/name". */
  target: string;
  /** The node concerned: the target itself, or the pod's node when the alert fired. */
  node: string;
  /** The limit crossed, and its value. */
  bound: "upper" | "lower";
  limit: number;
  upper: number | null;
  lower: number | null;
  holdSeconds: number;
  description: string | null;
  /** When the value left the limits (the hold began), fired, resolved. */
  breachedSince: string;
  firedAt: string;
  resolvedAt: string | null;
  resolvedReason: ResolvedReason | null;
  /** At firing; the highest and lowest since the value left the limits; the latest while active. */
  value: number;
  peak: number;
  trough: number;
  lastValue: number;
}

export interface AlertFilter {
  state?: "active" | "resolved" | "all";
  /** Alerts about this node or a pod on it. */
  node?: string;
  thresholdId?: string;
  /** Alerts active at some time since then (ms): still active, or resolved since. */
  since?: number;
  limit?: number;
}

export const DEFAULT_ALERT_LIMIT = 200;

export async function listAlerts(db: Db, filter: AlertFilter = {}): Promise<AlertView[]> {
  const conditions: (SQL | undefined)[] = [];
  if (filter.state === "active") conditions.push(isNull(alerts.resolvedAt));
  if (filter.state === "resolved") conditions.push(isNotNull(alerts.resolvedAt));
  if (filter.node !== undefined) conditions.push(eq(alerts.node, filter.node));
  if (filter.thresholdId !== undefined) conditions.push(eq(alerts.thresholdId, filter.thresholdId));
  if (filter.since !== undefined) conditions.push(or(isNull(alerts.resolvedAt), gte(alerts.resolvedAt, filter.since)));
  const rows = await db
    .select()
    .from(alerts)
    .where(and(...conditions))
    .orderBy(
      sql`${alerts.resolvedAt} IS NOT NULL`,
      desc(sql`coalesce(${alerts.resolvedAt}, ${alerts.firedAt})`),
      desc(alerts.id),
    )
    .limit(filter.limit ?? DEFAULT_ALERT_LIMIT);
  return rows.map(toAlertView);
}

function toAlertView(row: AlertRow): AlertView {
  return {
    id: row.id,
    state: row.resolvedAt === null ? "active" : "resolved",
    thresholdId: row.thresholdId,
    ...thresholdFields(row),
    scope: scopeOf(row.scopeKind, row.scopeKind === "node" || row.scopeKind === "pod" ? row.target : null),
    targetKind: targetKindOf(row.scopeKind),
    target: row.target,
    node: row.node,
    bound: row.bound,
    limit: (row.bound === "upper" ? row.upper : row.lower)!,
    breachedSince: new Date(row.breachedSince).toISOString(),
    firedAt: new Date(row.firedAt).toISOString(),
    resolvedAt: isoOrNull(row.resolvedAt),
    resolvedReason: row.resolvedReason,
    value: row.value,
    peak: row.peak,
    trough: row.trough,
    lastValue: row.lastValue,
  };
}
