// SPDX-License-Identifier: Apache-2.0
/** Delivery records as the API (GET /api/v1/notifications) and the alerts page show them: latest first. */
import { and, desc, eq, inArray, type SQL } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { alertNotificationAttempts, alertNotifications, alertReceivers, type NotificationState } from "../db/schema.ts";
import { isoOrNull } from "../queries/time.ts";
import type { WebhookAlert } from "./payload.ts";

export interface AttemptView {
  at: string;
  durationMs: number;
  /** The receiver's HTTP status, or null when there was none (then `error` says why). */
  httpStatus: number | null;
  error: string | null;
}

export interface NotificationView {
  id: number;
  receiver: string;
  receiverId: string;
  alertId: number;
  status: "firing" | "resolved";
  alertname: string;
  fingerprint: string;
  /** The alert's summary annotation. */
  summary: string;
  state: NotificationState;
  createdAt: string;
  /** Every attempt made; `attemptLog` keeps the latest (control/notify/settings.ts ATTEMPTS_KEPT). */
  attempts: number;
  /** When the next attempt is due (pending only). */
  nextAttemptAt: string | null;
  finishedAt: string | null;
  gaveUpReason: string | null;
  attemptLog: AttemptView[];
}

export interface NotificationFilter {
  receiverId?: string;
  state?: NotificationState;
  alertId?: number;
  limit?: number;
}

export const DEFAULT_NOTIFICATION_LIMIT = 200;

export async function listNotifications(db: Db, f: NotificationFilter = {}): Promise<NotificationView[]> {
  const where: (SQL | undefined)[] = [];
  if (f.receiverId !== undefined) where.push(eq(alertNotifications.receiverId, f.receiverId));
  if (f.state !== undefined) where.push(eq(alertNotifications.state, f.state));
  if (f.alertId !== undefined) where.push(eq(alertNotifications.alertId, f.alertId));
  const rows = await db
    .select({ n: alertNotifications, receiver: alertReceivers.name })
    .from(alertNotifications)
    .innerJoin(alertReceivers, eq(alertReceivers.id, alertNotifications.receiverId))
    .where(and(...where))
    .orderBy(desc(alertNotifications.id))
    .limit(f.limit ?? DEFAULT_NOTIFICATION_LIMIT);
  const attempts = rows.length === 0 ? [] : await db.select().from(alertNotificationAttempts).where(
    inArray(alertNotificationAttempts.notificationId, rows.map((r) => r.n.id)),
  ).orderBy(alertNotificationAttempts.id);
  const byNotification = new Map<number, typeof attempts>();
  for (const a of attempts) byNotification.set(a.notificationId, [...(byNotification.get(a.notificationId) ?? []), a]);
  return rows.map(({ n, receiver }) => {
    const alert = JSON.parse(n.alert) as WebhookAlert;
    return {
      id: n.id,
      receiver,
      receiverId: n.receiverId,
      alertId: n.alertId,
      status: n.status,
      alertname: alert.labels.alertname ?? "",
      fingerprint: alert.fingerprint,
      summary: alert.annotations.summary ?? "",
      state: n.state,
      createdAt: new Date(n.createdAt).toISOString(),
      attempts: n.attempts,
      nextAttemptAt: n.state === "pending" ? new Date(n.nextAttemptAt).toISOString() : null,
      finishedAt: isoOrNull(n.finishedAt),
      gaveUpReason: n.gaveUpReason,
      attemptLog: (byNotification.get(n.id) ?? []).map((a) => ({
        at: new Date(a.at).toISOString(),
        durationMs: a.durationMs,
        httpStatus: a.httpStatus,
        error: a.error,
      })),
    };
  });
}
