// SPDX-License-Identifier: Apache-2.0
/**
 * The deliverer: sends the outbox (outbox.ts) to the receivers. A once-only
 * job (control/once-only.ts): with replicas only the lease holder runs it,
 * and every write it makes is fenced by the lease, so two replicas never
 * both send an event.
 *
 * Each run (a run with nothing to do reads and writes nothing, so ingest
 * loses no write slot to it):
 * - housekeeping (one transaction): notifications pending longer than
 *   giveUpAfterMs, and a receiver's oldest pending ones beyond maxPending,
 *   are given up, counted on the receiver (never dropped silently);
 *   delivered and given-up records older than retentionMs are deleted with
 *   their attempts.
 * - when anything is due, the lease is checked in a fenced transaction
 *   before any POST: a replica that lost it sends nothing;
 * - per enabled receiver (receivers in parallel, a receiver's notifications
 *   in order, oldest first): each due notification is POSTed (one event, in
 *   the receiver's format, payload.ts) with a timeout, and the attempt
 *   recorded in its own transaction: a 2xx marks it delivered (never sent
 *   again); 400, 413 and 422 (the receiver refuses this payload for good)
 *   give it up; anything else (another status, a refused connection, a
 *   timeout) schedules a retry with exponential backoff (backoff.ts) and
 *   stops that receiver for this run; its other pending notifications wait
 *   as long, so a receiver that is down gets one request per backoff and
 *   its events arrive in order once it is back.
 *
 * Exactly once, and its limit: a notification is marked delivered in a
 * transaction after the receiver's 2xx. If the process dies (or loses the
 * lease) between that answer and the commit, the notification is still
 * pending and is sent again; receivers dedupe it by the alert's
 * fingerprint and status (Alertmanager does). A stop (SIGTERM) lets the
 * POST in progress finish and be recorded, and sends nothing more.
 */
import { and, asc, eq, lte, sql } from "drizzle-orm";
import type { Db, Tx } from "../db/client.ts";
import { alertNotificationAttempts, alertNotifications, alertReceivers, type ReceiverRow } from "../db/schema.ts";
import { writeTransaction } from "../db/write-queue.ts";
import type { Fence } from "../lease/lease.ts";
import { type Periodic, repeatEvery } from "../periodic.ts";
import { retryDelayMs } from "./backoff.ts";
import { withoutUrl } from "./receivers.ts";
import { alertmanagerAlerts, type WebhookAlert, webhookMessage } from "./payload.ts";
import { ATTEMPTS_KEPT, type NotifySettings, SEND_PER_RUN } from "./settings.ts";

export interface RunResult {
  delivered: number;
  /** Attempts that failed and will be retried. */
  failed: number;
  gaveUp: number;
  /** Finished records deleted by the retention. */
  pruned: number;
}

export interface DeliverOptions {
  fence?: Fence;
  /** True once the deliverer is stopping: no new POST starts. */
  stopping?: () => boolean;
  random?: () => number;
}

/** A receiver refusing the payload itself: retrying would get the same answer. */
const PERMANENT = new Set([400, 413, 422]);

/** One run of the deliverer at `now()` (read again for each attempt). */
export async function deliverDue(
  db: Db,
  now: () => number,
  s: NotifySettings,
  opts: DeliverOptions = {},
): Promise<RunResult> {
  const result: RunResult = { delivered: 0, failed: 0, gaveUp: 0, pruned: 0 };
  Object.assign(result, await housekeeping(db, now(), s, opts.fence));
  const receivers = await db.select().from(alertReceivers).where(eq(alertReceivers.enabled, true));
  const due = await Promise.all(receivers.map((r) => dueFor(db, r.id, now())));
  if (due.every((d) => d.length === 0)) return result;
  // Before anything is sent: a replica that lost the lease sends nothing (the check is a fenced transaction).
  if (opts.fence) await writeTransaction(db, (tx) => opts.fence!(tx));
  // Every receiver's loop ends before the run does, also when one fails: a loop still sending after its run ended
  // would overlap the next run, which reads the same notifications as still pending and sends them again.
  const ends = await Promise.allSettled(receivers.map((r, i) => deliverTo(db, r, due[i]!, now, s, opts, result)));
  const failed = ends.find((e) => e.status === "rejected");
  if (failed) throw failed.reason;
  return result;
}

/**
 * A receiver's notifications due at `at`, oldest first, at most SEND_PER_RUN, and none past an older one that is
 * not due: an event made while an older one waits for its retry (the receiver down) waits behind it, so a
 * resolution never reaches the receiver before its firing.
 */
function dueFor(db: Db, receiverId: string, at: number) {
  return db
    .select({ id: alertNotifications.id, alert: alertNotifications.alert, attempts: alertNotifications.attempts })
    .from(alertNotifications)
    .where(and(
      eq(alertNotifications.receiverId, receiverId),
      eq(alertNotifications.state, "pending"),
      lte(alertNotifications.nextAttemptAt, at),
      // Below the oldest that is not due (one subquery for the whole query, not one per row).
      sql`${alertNotifications.id} < coalesce((SELECT min(w.id) FROM alert_notifications w
        WHERE w.receiver_id = ${receiverId} AND w.state = 'pending' AND w.next_attempt_at > ${at}),
        ${Number.MAX_SAFE_INTEGER})`,
    ))
    .orderBy(asc(alertNotifications.id))
    .limit(SEND_PER_RUN);
}

async function deliverTo(
  db: Db,
  receiver: ReceiverRow,
  due: Awaited<ReturnType<typeof dueFor>>,
  now: () => number,
  s: NotifySettings,
  opts: DeliverOptions,
  result: RunResult,
): Promise<void> {
  for (const n of due) {
    if (opts.stopping?.()) return;
    const alert = JSON.parse(n.alert) as WebhookAlert;
    const message = receiver.format === "alertmanager"
      ? alertmanagerAlerts(alert, s.externalUrl ?? "")
      : webhookMessage(alert, receiver.name, s.externalUrl ?? "");
    const at = now();
    const answer = await post(receiver, message, s.timeoutMs);
    const outcome = answer.status !== undefined && answer.status >= 200 && answer.status < 300
      ? "delivered"
      : answer.status !== undefined && PERMANENT.has(answer.status)
      ? "gave-up"
      : "failed";
    const attempts = n.attempts + 1;
    const recorded = await writeTransaction(db, async (tx) => {
      await opts.fence?.(tx);
      return record(tx, {
        id: n.id,
        receiverId: receiver.id,
        at,
        answer,
        outcome,
        attempts,
        retryAt: at + answer.durationMs + retryDelayMs(attempts, s, opts.random),
      });
    });
    if (!recorded) return; // the receiver was deleted meanwhile: nothing more for it
    result[outcome === "gave-up" ? "gaveUp" : outcome]++;
    if (outcome === "failed") return; // the receiver is not taking anything now: its others wait for the retry
  }
}

interface Answer {
  status?: number;
  error?: string;
  durationMs: number;
}

async function post(r: ReceiverRow, message: unknown, timeoutMs: number): Promise<Answer> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (r.headerName !== null && r.headerValue !== null) headers[r.headerName] = r.headerValue;
  if (r.bearerToken !== null) headers.authorization = `Bearer ${r.bearerToken}`;
  const started = performance.now();
  const took = () => Math.round(performance.now() - started);
  try {
    const res = await fetch(r.url, {
      method: "POST",
      headers,
      body: JSON.stringify(message),
      // A redirect is the receiver's answer (3xx: retried), not a place to send the secret headers on to.
      redirect: "manual",
      signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body?.cancel(); // the answer's body is not needed, and must not hold the connection
    return { status: res.status, durationMs: took() };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    const error = err.name === "TimeoutError"
      ? `no answer within ${timeoutMs} ms`
      : err.cause?.code ?? err.cause?.message ?? err.message;
    // The error is recorded and shown to readers: fetch's messages can name the URL whole (Deno's always do), and its
    // path and query are often the secret (Slack).
    return { error: withoutUrl(String(error), r.url), durationMs: took() };
  }
}

async function record(
  tx: Tx,
  a: {
    id: number;
    receiverId: string;
    at: number;
    answer: Answer;
    outcome: "delivered" | "gave-up" | "failed";
    attempts: number;
    retryAt: number;
  },
): Promise<boolean> {
  const { answer, outcome } = a;
  const finishedAt = a.at + answer.durationMs;
  const self = and(eq(alertNotifications.id, a.id), eq(alertNotifications.state, "pending"));
  // Its receiver deleted while the POST was in flight: the notification went with it, nothing is left to record
  // (false).
  if ((await tx.select({ id: alertNotifications.id }).from(alertNotifications).where(self).get()) === undefined) {
    return false;
  }
  await tx.insert(alertNotificationAttempts).values({
    notificationId: a.id,
    at: a.at,
    durationMs: answer.durationMs,
    httpStatus: answer.status ?? null,
    error: answer.error ?? null,
  });
  await tx.run(sql`DELETE FROM alert_notification_attempts WHERE notification_id = ${a.id} AND id NOT IN
    (SELECT id FROM alert_notification_attempts WHERE notification_id = ${a.id} ORDER BY id DESC LIMIT ${ATTEMPTS_KEPT})`);
  const last = { attempts: a.attempts, lastStatus: answer.status ?? null, lastError: answer.error ?? null };
  const counter = outcome === "delivered"
    ? { delivered: sql`${alertReceivers.delivered} + 1` }
    : outcome === "gave-up"
    ? { gaveUp: sql`${alertReceivers.gaveUp} + 1`, failedAttempts: sql`${alertReceivers.failedAttempts} + 1` }
    : { failedAttempts: sql`${alertReceivers.failedAttempts} + 1` };
  await tx.update(alertReceivers).set(counter).where(eq(alertReceivers.id, a.receiverId));
  if (outcome === "delivered") {
    await tx.update(alertNotifications).set({ ...last, state: "delivered", finishedAt }).where(self);
  } else if (outcome === "gave-up") {
    const gaveUpReason = `refused by the receiver: HTTP ${answer.status}`;
    await tx.update(alertNotifications).set({ ...last, state: "gave-up", finishedAt, gaveUpReason }).where(self);
  } else {
    await tx.update(alertNotifications).set({ ...last, nextAttemptAt: a.retryAt }).where(self);
    // Everything else for this receiver waits as long: one request per backoff while it is down, order kept.
    await tx.run(sql`UPDATE alert_notifications SET next_attempt_at = ${a.retryAt}
      WHERE receiver_id = ${a.receiverId} AND state = 'pending' AND next_attempt_at < ${a.retryAt}`);
  }
  return true;
}

/** Give up what waited too long or overflows its receiver's bound (counted), delete what finished long ago. */
async function housekeeping(db: Db, now: number, s: NotifySettings, fence?: Fence) {
  // Read first: most runs have nothing to do, and then take no write transaction from ingest.
  const [todo] = await db.all<{ n: number }>(sql`SELECT
    (SELECT count(*) FROM alert_notifications WHERE state = 'pending' AND created_at < ${now - s.giveUpAfterMs}) +
    (SELECT count(*) FROM alert_notifications WHERE state != 'pending' AND finished_at < ${now - s.retentionMs}) +
    (SELECT count(*) FROM (SELECT receiver_id FROM alert_notifications WHERE state = 'pending'
      GROUP BY receiver_id HAVING count(*) > ${s.maxPending})) AS n`);
  if (Number(todo?.n ?? 0) === 0) return { gaveUp: 0, pruned: 0 };
  return writeTransaction(db, async (tx) => {
    await fence?.(tx);
    let gaveUp = await giveUp(
      tx,
      sql`state = 'pending' AND created_at < ${now - s.giveUpAfterMs}`,
      `not delivered within ${s.giveUpAfterMs / 3_600_000} h`,
      now,
    );
    // The oldest beyond the bound: those with at least maxPending newer pending ones of their receiver.
    gaveUp += await giveUp(
      tx,
      sql`state = 'pending' AND id IN (SELECT id FROM (SELECT id, row_number() OVER
        (PARTITION BY receiver_id ORDER BY id DESC) AS newer FROM alert_notifications WHERE state = 'pending')
        WHERE newer > ${s.maxPending})`,
      `more than ${s.maxPending} pending for the receiver`,
      now,
    );
    const old = sql`state != 'pending' AND finished_at < ${now - s.retentionMs}`;
    await tx.run(sql`DELETE FROM alert_notification_attempts WHERE notification_id IN
      (SELECT id FROM alert_notifications WHERE ${old})`);
    const pruned = await tx.run(sql`DELETE FROM alert_notifications WHERE ${old}`);
    return { gaveUp, pruned: pruned.rowsAffected };
  });
}

async function giveUp(tx: Tx, where: ReturnType<typeof sql>, reason: string, now: number): Promise<number> {
  const counts = await tx.all<{ receiver_id: string; n: number }>(
    sql`SELECT receiver_id, count(*) AS n FROM alert_notifications WHERE ${where} GROUP BY receiver_id`,
  );
  if (counts.length === 0) return 0;
  for (const c of counts) {
    await tx.update(alertReceivers).set({ gaveUp: sql`${alertReceivers.gaveUp} + ${Number(c.n)}` }).where(
      eq(alertReceivers.id, c.receiver_id),
    );
  }
  await tx.run(
    sql`UPDATE alert_notifications SET state = 'gave-up', finished_at = ${now}, gave_up_reason = ${reason} WHERE ${where}`,
  );
  return counts.reduce((sum, c) => sum + Number(c.n), 0);
}

/** Runs the deliverer every intervalMs until stopped; stop() lets the POST in progress finish and be recorded. */
export function startDelivering(
  db: Db,
  s: NotifySettings,
  opts: { fence?: Fence; now?: () => number; logError?: (message: string, err: unknown) => void } = {},
): Periodic {
  let stopping = false;
  const logError = opts.logError ?? ((message, err) => console.error(message, err));
  const periodic = repeatEvery(
    s.intervalMs,
    () => deliverDue(db, opts.now ?? Date.now, s, { fence: opts.fence, stopping: () => stopping }),
    (err) => logError("alert notification delivery failed:", err),
  );
  return {
    async stop() {
      stopping = true;
      await periodic.stop();
    },
  };
}
