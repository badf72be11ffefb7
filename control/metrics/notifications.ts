// SPDX-License-Identifier: Apache-2.0
/**
 * Alert notifications on /metrics (control/notify/): per receiver, the
 * outcomes counted on its row (so pruned records still count, and every
 * replica answers the same) and the notifications pending. The `receiver`
 * label is a receiver's name: bounded by what the admin configured.
 */
import { sql } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import type { Family } from "../wire/exposition.ts";

/** The counters' outcomes: delivered (a 2xx), failed (an attempt that will be retried), gave_up (not delivered, counted). */
const OUTCOMES = [["delivered", "delivered"], ["failed", "failed_attempts"], ["gave_up", "gave_up"]] as const;

export async function notificationFamilies(db: Db): Promise<Family[]> {
  const rows = await db.all<Record<string, number | string>>(sql`SELECT r.name, r.delivered, r.failed_attempts,
    r.gave_up, (SELECT count(*) FROM alert_notifications n WHERE n.receiver_id = r.id AND n.state = 'pending') AS pending
    FROM alert_receivers r ORDER BY r.name`);
  return [
    {
      name: "ebpf_k8s_alert_notifications_total",
      help: "Alert notifications by receiver and outcome: delivered, failed (an attempt, retried), gave_up",
      type: "counter",
      samples: rows.flatMap((r) =>
        OUTCOMES.map(([outcome, column]) => ({
          labels: { receiver: String(r.name), outcome },
          value: Number(r[column]),
        }))
      ),
    },
    {
      name: "ebpf_k8s_alert_notifications_pending",
      help: "Alert notifications waiting for delivery (first attempt or a retry), by receiver",
      type: "gauge",
      samples: rows.map((r) => ({ labels: { receiver: String(r.name) }, value: Number(r.pending) })),
    },
  ];
}
