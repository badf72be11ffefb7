// SPDX-License-Identifier: Apache-2.0
/**
 * Writing the outbox: called inside the transaction that fires or resolves
 * alerts (control/alerts/evaluate.ts), so a notification exists exactly when
 * the change it reports committed. One row per event and enabled receiver;
 * the unique index (receiver, alert, status) keeps an event once per
 * receiver even if it were enqueued twice.
 */
import { eq, inArray } from "drizzle-orm";
import type { Tx } from "../db/client.ts";
import { alertNotifications, alertReceivers, alerts } from "../db/schema.ts";
import { webhookAlert } from "./payload.ts";

/** Rows per statement: well under SQLite's bound on variables. */
const CHUNK = 200;

export async function enqueueNotifications(
  tx: Tx,
  alertIds: readonly number[],
  status: "firing" | "resolved",
  now: number,
): Promise<void> {
  if (alertIds.length === 0) return;
  const receivers = await tx.select({ id: alertReceivers.id }).from(alertReceivers).where(
    eq(alertReceivers.enabled, true),
  );
  if (receivers.length === 0) return;
  for (let i = 0; i < alertIds.length; i += CHUNK) {
    const rows = await tx.select().from(alerts).where(inArray(alerts.id, alertIds.slice(i, i + CHUNK)));
    const events = rows.map((row) => ({ alertId: row.id, alert: JSON.stringify(webhookAlert(row, status)) }));
    const values = receivers.flatMap((r) =>
      events.map((e) => ({
        receiverId: r.id,
        ...e,
        status,
        state: "pending" as const,
        createdAt: now,
        nextAttemptAt: now,
      }))
    );
    for (let j = 0; j < values.length; j += CHUNK) {
      await tx.insert(alertNotifications).values(values.slice(j, j + CHUNK)).onConflictDoNothing();
    }
  }
}
