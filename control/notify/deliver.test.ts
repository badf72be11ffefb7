// SPDX-License-Identifier: Apache-2.0
/**
 * The outbox and the deliverer against a real HTTP receiver on loopback
 * (receiver.test-support.ts) and a real database: alerts fired and resolved
 * by evaluateAlerts on a node's heartbeat, runs of deliverDue at pinned
 * times. The process-level guarantees (restarts, the thousandth) are in
 * notifications.process.test.ts.
 */
import { asc, eq } from "drizzle-orm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { evaluateAlerts } from "../alerts/evaluate.ts";
import { ThresholdInput } from "../alerts/model.ts";
import { createThreshold, deleteThreshold } from "../alerts/thresholds.ts";
import { alertNotificationAttempts, alertNotifications, alertReceivers } from "../db/schema.ts";
import { Lease, LeaseLost, ONCE_ONLY_LEASE } from "../lease/lease.ts";
import { DEFAULT_RETENTION } from "../monitoring/rollup.ts";
import { deleteNode } from "../registry/node-removal.ts";
import { AS_ADMIN, batch, postBatch, T0, useTestApp } from "../test-support.ts";
import { deliverDue } from "./deliver.ts";
import { listNotifications } from "./deliveries.ts";
import { startTestReceiver, TEST_NOTIFY, type TestReceiver } from "./receiver.test-support.ts";
import type { NotifySettings } from "./settings.ts";

const s = useTestApp();
let rx: TestReceiver;
beforeEach(async () => (rx = await startTestReceiver()));
afterEach(() => rx.close());

const NOTIFY = { ...TEST_NOTIFY, externalUrl: "http://ek8s.test" };
const VALUES = { staleAfterMs: 30_000, retention: DEFAULT_RETENTION };

const run = (at: number, settings: Partial<NotifySettings> = {}) =>
  deliverDue(s.db, () => at, { ...NOTIFY, ...settings }, { random: () => 0 });

async function addReceiver(body: Record<string, unknown> = {}) {
  const res = await s.app.request("/api/v1/receivers", {
    method: "POST",
    headers: { ...AS_ADMIN, "content-type": "application/json" },
    body: JSON.stringify({ name: "team", url: rx.url, ...body }),
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { id: string };
}

/** The node reports at T0; a heartbeat limit of 60 s on it fires at T0 + 70 s; a report at T0 + 80 s resolves it. */
async function fireAndResolve(node = "node-a") {
  s.clock.now = T0;
  await postBatch(s.app, batch({ node, seq: 1, ts: T0 }));
  const t = await createThreshold(
    s.db,
    ThresholdInput.parse({
      metric: "heartbeatAgeSeconds",
      scope: { kind: "node", target: node },
      upper: 60,
      holdSeconds: 0,
    }),
    T0,
  );
  expect(await evaluateAlerts(s.db, T0 + 70_000, VALUES)).toMatchObject({ fired: 1 });
  return {
    threshold: t,
    resolve: async () => {
      s.clock.now = T0 + 80_000;
      await postBatch(s.app, batch({ node, seq: 2, ts: T0 + 80_000 }));
      expect(await evaluateAlerts(s.db, T0 + 81_000, VALUES)).toMatchObject({ resolved: 1 });
    },
  };
}

const records = () => s.db.select().from(alertNotifications).orderBy(asc(alertNotifications.id));
const receiverRow = async () => (await s.db.select().from(alertReceivers))[0]!;

describe("alert notifications", () => {
  it("a firing and a resolution: one POST each, in order, with the receiver's header, marked delivered once", async () => {
    await addReceiver({ bearerToken: "s3cret-token", header: { name: "X-Team", value: "net" } });
    const { resolve } = await fireAndResolve();
    await resolve();
    expect((await records()).map((r) => [r.status, r.state])).toEqual([["firing", "pending"], ["resolved", "pending"]]);

    expect(await run(T0 + 82_000)).toEqual({ delivered: 2, failed: 0, gaveUp: 0, pruned: 0 });
    expect(rx.received.map((r) => r.body.status)).toEqual(["firing", "resolved"]);
    const [firing, resolved] = rx.received;
    expect(firing!.headers.authorization).toBe("Bearer s3cret-token");
    expect(firing!.headers["x-team"]).toBe("net");
    expect(firing!.body).toMatchObject({ version: "4", receiver: "team", externalURL: "http://ek8s.test" });
    expect(firing!.body.alerts[0]!.labels).toMatchObject({
      alertname: "EbpfK8sHeartbeatAgeSecondsHigh",
      node: "node-a",
    });
    expect(resolved!.body.alerts[0]!.fingerprint).toBe(firing!.body.alerts[0]!.fingerprint);
    expect(resolved!.body.alerts[0]!.endsAt).toBe(new Date(T0 + 81_000).toISOString());

    expect(await run(T0 + 90_000)).toMatchObject({ delivered: 0 }); // nothing sent twice
    expect(rx.received).toHaveLength(2);
    expect((await records()).map((r) => r.state)).toEqual(["delivered", "delivered"]);
    expect(await receiverRow()).toMatchObject({ delivered: 2, failedAttempts: 0, gaveUp: 0 });
  });

  it("a threshold deleted resolves its alert and notifies that too; a disabled receiver gets nothing new", async () => {
    const r = await addReceiver();
    const { threshold } = await fireAndResolve();
    await s.app.request(`/api/v1/receivers/${r.id}`, {
      method: "PATCH",
      headers: { ...AS_ADMIN, "content-type": "application/json" },
      body: JSON.stringify({ enabled: false }),
    });
    await deleteThreshold(s.db, threshold.id, T0 + 75_000);
    expect((await records()).map((n) => n.status)).toEqual(["firing"]); // the resolution was not for a disabled one
    await s.db.update(alertReceivers).set({ enabled: true });
    await fireAndResolve("node-b");
    expect((await records()).map((n) => n.status)).toEqual(["firing", "firing"]);
  });

  it("500 then 200: one delivery record with two attempts, the retry after the backoff", async () => {
    await addReceiver();
    await fireAndResolve();
    rx.answers.push(500);
    expect(await run(T0 + 71_000)).toMatchObject({ delivered: 0, failed: 1 });
    expect(await run(T0 + 71_500)).toMatchObject({ delivered: 0, failed: 0 }); // not due before 1 s
    expect(rx.received).toHaveLength(1);
    expect(await run((await records())[0]!.nextAttemptAt)).toMatchObject({ delivered: 1 });
    expect(rx.received).toHaveLength(2);

    const [view, ...more] = await listNotifications(s.db);
    expect(more).toEqual([]);
    expect(view).toMatchObject({ state: "delivered", attempts: 2, status: "firing", receiver: "team" });
    expect(view!.attemptLog.map((a) => a.httpStatus)).toEqual([500, 200]);
    expect(await receiverRow()).toMatchObject({ delivered: 1, failedAttempts: 1 });
  });

  it("a receiver down: pending, one request per backoff, every event waits; back: each delivered once, in order", async () => {
    const r = await addReceiver({ url: "http://127.0.0.1:9/hook" }); // discard port: connection refused
    const { resolve } = await fireAndResolve();
    await resolve();
    let at = T0 + 82_000;
    for (let i = 0; i < 4; i++) {
      expect(await run(at)).toMatchObject({ delivered: 0, failed: 1 });
      const due = (await records())[0]!.nextAttemptAt;
      // The backoff doubles (no random part here), counted from the attempt's end.
      expect(due - at).toBeGreaterThanOrEqual(2 ** i * 1_000);
      expect(due - at).toBeLessThan(2 ** i * 1_000 + 2_000);
      expect(await run(due - 1)).toMatchObject({ failed: 0 }); // not before
      at = due;
    }
    const [head, second] = await records();
    expect(head).toMatchObject({ state: "pending", attempts: 4, lastStatus: null });
    expect(head!.lastError).toBeTruthy();
    expect(second).toMatchObject({ state: "pending", attempts: 0 });
    expect(second!.nextAttemptAt).toBe(head!.nextAttemptAt);

    // The URL fixed through the API: what waits is due at once, not after the backoff.
    const fixAt = head!.nextAttemptAt - 500; // after the 4th attempt, before the 5th is due
    s.clock.now = fixAt;
    const fixed = await s.app.request(`/api/v1/receivers/${r.id}`, {
      method: "PATCH",
      headers: { ...AS_ADMIN, "content-type": "application/json" },
      body: JSON.stringify({ url: rx.url }),
    });
    expect(fixed.status).toBe(200);
    expect(await run(fixAt)).toMatchObject({ delivered: 2 });
    expect(rx.received.map((m) => m.body.status)).toEqual(["firing", "resolved"]);
    expect(await run(head!.nextAttemptAt + 60_000)).toMatchObject({ delivered: 0 });
  });

  it("an event made while an older one waits for its retry waits behind it: never a resolution before its firing", async () => {
    await addReceiver();
    const { resolve } = await fireAndResolve();
    const slow = { retryMinMs: 30_000, retryMaxMs: 60_000 };
    rx.answers.push(503);
    expect(await run(T0 + 71_000, slow)).toMatchObject({ failed: 1 }); // the firing: retried 30 s later
    await resolve(); // the resolution, made at T0 + 81 s: due at once, but behind the firing
    expect(await run(T0 + 82_000, slow)).toMatchObject({ delivered: 0, failed: 0 });
    expect(rx.received.map((m) => m.body.status)).toEqual(["firing"]);
    expect(await run((await records())[0]!.nextAttemptAt, slow)).toMatchObject({ delivered: 2 });
    expect(rx.received.map((m) => m.body.status)).toEqual(["firing", "firing", "resolved"]);
  });

  it("a failed attempt's error, recorded and shown to readers, never names the URL's secrets", async () => {
    const r = await addReceiver();
    // Set past the API's check (which refuses user:password@): Node's fetch names such a URL whole in its error.
    const url = "http://user:pa55word@127.0.0.1:9/hook/S3CRETPATH?token=T0KEN";
    await s.db.update(alertReceivers).set({ url }).where(eq(alertReceivers.id, r.id));
    await fireAndResolve();
    expect(await run(T0 + 71_000)).toMatchObject({ failed: 1 });
    const [view] = await listNotifications(s.db);
    expect(view!.attemptLog[0]!.error).toBeTruthy();
    const shown = JSON.stringify([await records(), view]);
    for (const secret of ["pa55word", "S3CRETPATH", "T0KEN"]) expect(shown).not.toContain(secret);
  });

  it("an alert after the history was pruned to nothing is notified: its id is not the pruned one's again", async () => {
    await addReceiver();
    const { resolve } = await fireAndResolve();
    await resolve();
    expect(await run(T0 + 82_000)).toMatchObject({ delivered: 2 });
    // The resolved alert leaves the history (1 min of it kept here) while the node reports; then it goes silent again.
    const short = { ...VALUES, retention: { ...DEFAULT_RETENTION, "1h": 60_000 } };
    s.clock.now = T0 + 200_000;
    await postBatch(s.app, batch({ node: "node-a", seq: 3, ts: T0 + 200_000 }));
    expect(await evaluateAlerts(s.db, T0 + 201_000, short)).toMatchObject({ fired: 0 });
    expect(await evaluateAlerts(s.db, T0 + 271_000, short)).toMatchObject({ fired: 1 });
    expect(await run(T0 + 272_000)).toMatchObject({ delivered: 1 });
    expect(rx.received.map((m) => m.body.status)).toEqual(["firing", "resolved", "firing"]);
  });

  it("a deleted node's firing alert resolves (no-data) at the next evaluation, and that is notified", async () => {
    await addReceiver();
    await fireAndResolve();
    expect(await deleteNode(s.db, "node-a", T0 + 72_000)).toBe(true);
    expect(await evaluateAlerts(s.db, T0 + 73_000, VALUES)).toMatchObject({ resolved: 1 });
    expect(await run(T0 + 74_000)).toMatchObject({ delivered: 2 });
    expect(rx.received.map((m) => m.body.status)).toEqual(["firing", "resolved"]);
    expect(rx.received[1]!.body.alerts[0]!.annotations.description).toMatch(/resolved: no-data$/);
    expect(await evaluateAlerts(s.db, T0 + 500_000, VALUES)).toEqual({ fired: 0, resolved: 0, pending: 0 });
  });

  it("a receiver deleted while its POST is in flight: the run goes on, the others get theirs once", async () => {
    const other = await startTestReceiver();
    try {
      await addReceiver({ name: "other", url: other.url });
      const gone = await addReceiver({ name: "gone" });
      // The receiver is deleted through the API while the POST to it waits for its answer.
      rx.beforeAnswer = async () =>
        await s.app.request(`/api/v1/receivers/${gone.id}`, { method: "DELETE", headers: AS_ADMIN });
      await fireAndResolve();
      expect(await run(T0 + 71_000)).toMatchObject({ delivered: 1 });
      expect(await run(T0 + 72_000)).toMatchObject({ delivered: 0 });
      expect([rx.received.length, other.received.length]).toEqual([1, 1]);
      expect((await records()).map((n) => n.state)).toEqual(["delivered"]);
    } finally {
      await other.close();
    }
  });

  it("a run that fails for one receiver ends only once every receiver's POST in flight is recorded", async () => {
    const slow = await startTestReceiver();
    try {
      await addReceiver({ name: "slow", url: slow.url });
      await addReceiver({ name: "fast" });
      slow.beforeAnswer = () => new Promise((r) => setTimeout(r, 300));
      await fireAndResolve();
      let checks = 0;
      const fence = () => { // the check before the POSTs passes; the fast receiver's record (the first) fails
        if (++checks === 2) throw new Error("lost meanwhile");
        return Promise.resolve();
      };
      await expect(deliverDue(s.db, () => T0 + 71_000, NOTIFY, { fence })).rejects.toThrow("lost meanwhile");
      // Had the run ended at the failure, the slow POST would still be in flight: the next run would send it again.
      const [slowId] = (await s.db.select().from(alertReceivers).where(eq(alertReceivers.name, "slow"))).map((r) =>
        r.id
      );
      expect((await records()).filter((n) => n.receiverId === slowId).map((n) => n.state)).toEqual(["delivered"]);
      expect(slow.received).toHaveLength(1);
    } finally {
      await slow.close();
    }
  });

  it("gives up, counted: 400 at once; after giveUpAfter; the oldest beyond maxPending", async () => {
    await addReceiver();
    const { resolve } = await fireAndResolve();
    rx.answers.push(400);
    expect(await run(T0 + 71_000)).toMatchObject({ gaveUp: 1 });
    expect((await records())[0]).toMatchObject({ state: "gave-up", gaveUpReason: "refused by the receiver: HTTP 400" });

    await resolve();
    await fireAndResolve("node-b"); // node-b fires; node-a's resolution is pending too
    const late = T0 + 81_000 + NOTIFY.giveUpAfterMs + 1;
    expect(await run(late, { maxPending: 1 })).toMatchObject({ gaveUp: 2, delivered: 0 });
    expect((await records()).map((n) => [n.state, n.gaveUpReason])).toEqual([
      ["gave-up", "refused by the receiver: HTTP 400"],
      ["gave-up", "not delivered within 1 h"],
      ["gave-up", "not delivered within 1 h"],
    ]);
    expect(await receiverRow()).toMatchObject({ gaveUp: 3 });
  });

  it("keeps a receiver's pending notifications under maxPending: the oldest give up, counted and shown", async () => {
    const r = await addReceiver({ enabled: true });
    await s.db.update(alertReceivers).set({ url: "http://127.0.0.1:9/hook" }).where(eq(alertReceivers.id, r.id));
    const { resolve } = await fireAndResolve();
    await resolve();
    expect(await run(T0 + 82_000, { maxPending: 1 })).toMatchObject({ gaveUp: 1, failed: 1 });
    expect((await records()).map((n) => [n.status, n.state])).toEqual([["firing", "gave-up"], ["resolved", "pending"]]);
    const res = await s.app.request("/api/v1/receivers", { headers: AS_ADMIN });
    expect(await res.json()).toMatchObject([{ name: "team", pending: 1, gaveUp: 1, failedAttempts: 1 }]);
  });

  it("with two replicas only the lease holder sends: the other's run is refused before any POST", async () => {
    await addReceiver();
    await fireAndResolve();
    const at = T0 + 71_000;
    const lease = (holder: string) =>
      new Lease(s.db, { name: ONCE_ONLY_LEASE, holder, leaseMs: 60_000, marginMs: 1_000, now: () => at });
    const [a, b] = [lease("replica-a"), lease("replica-b")];
    expect((await a.attempt()).held).toBe(true);
    expect((await b.attempt()).held).toBe(false);
    await expect(deliverDue(s.db, () => at, NOTIFY, { fence: (tx) => b.check(tx) })).rejects.toThrow(LeaseLost);
    expect(rx.received).toEqual([]);
    expect(await deliverDue(s.db, () => at, NOTIFY, { fence: (tx) => a.check(tx) })).toMatchObject({ delivered: 1 });
    expect(rx.received).toHaveLength(1);
  });

  it("prunes finished records and their attempts after the retention; pending ones stay", async () => {
    await addReceiver();
    const { resolve } = await fireAndResolve();
    expect(await run(T0 + 71_000)).toMatchObject({ delivered: 1 });
    await resolve();
    rx.answers.push(503);
    const pruneAt = T0 + 71_000 + NOTIFY.retentionMs + 1_000; // past the delivery (its time plus the POST's)
    expect(await run(pruneAt, { giveUpAfterMs: 10 * NOTIFY.retentionMs })).toMatchObject({ pruned: 1, failed: 1 });
    const [left, ...more] = await records();
    expect(more).toEqual([]);
    expect(left).toMatchObject({ status: "resolved", state: "pending" });
    const attempts = await s.db.select().from(alertNotificationAttempts);
    expect(attempts.map((a) => [a.notificationId, a.httpStatus])).toEqual([[left!.id, 503]]);
    expect(await receiverRow()).toMatchObject({ delivered: 1 }); // counted all the same
  });
});
