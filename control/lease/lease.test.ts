// SPDX-License-Identifier: Apache-2.0
/**
 * The lease between replicas, against a real libSQL file opened twice (two
 * connections, as two processes would have) with a controlled clock: one
 * holder at a time, renewal, expiry, take-over, the fencing check inside a
 * transaction, and the keeper stopping its work before another replica can
 * take over.
 */
import { describe, expect, it } from "vitest";
import type { Db } from "../db/client.ts";
import { writeTransaction } from "../db/write-queue.ts";
import { T0 } from "../test-support.ts";
import { evaluateAlerts } from "../alerts/evaluate.ts";
import { runMaintenance } from "../monitoring-store/maintenance.ts";
import { DEFAULT_MONITORING_SETTINGS } from "../monitoring-store/settings.ts";
import { readVersion } from "../services/version.ts";
import { syncServices } from "../services/model.ts";
import { ServiceInput } from "../wire/services.ts";
import { LeaseKeeper, type OnceOnlyJob } from "./keeper.ts";
import { Lease, LeaseLost, readLease, replicaId } from "./lease.ts";
import { useTwoConnections } from "./two-connections.test-support.ts";

const LEASE_MS = 15_000;
const RENEW_MS = 5_000;

const s = useTwoConnections();
const { clock, now } = s;

const leaseOn = (db: Db, holder: string) =>
  new Lease(db, { name: "test", holder, leaseMs: LEASE_MS, marginMs: RENEW_MS, now });

describe("Lease", () => {
  it("is held by one replica at a time; the other sees who holds it", async () => {
    const [a, b] = [leaseOn(s.file.db, "a"), leaseOn(s.other, "b")];
    expect(await a.attempt()).toEqual({
      held: true,
      expiresAt: T0 + LEASE_MS,
      acquiredAt: T0,
      validUntil: T0 + LEASE_MS - RENEW_MS,
    });
    expect(await b.attempt()).toEqual({
      held: false,
      current: { name: "test", holder: "a", expiresAt: T0 + LEASE_MS, acquiredAt: T0 },
    });
    // Racing from both connections at once, still one holder.
    const both = await Promise.all([a.attempt(), b.attempt(), a.attempt(), b.attempt()]);
    expect(both.map((r) => r.held)).toEqual([true, false, true, false]);
  });

  it("is renewed by its holder, keeping when it was taken; no one else takes it before it expires", async () => {
    const [a, b] = [leaseOn(s.file.db, "a"), leaseOn(s.other, "b")];
    await a.attempt();
    clock.now = T0 + RENEW_MS;
    expect(await a.attempt()).toMatchObject({ held: true, expiresAt: T0 + RENEW_MS + LEASE_MS, acquiredAt: T0 });
    clock.now = T0 + LEASE_MS; // the first lease's expiry: renewed, so still a's
    expect((await b.attempt()).held).toBe(false);
    clock.now = T0 + RENEW_MS + LEASE_MS - 1;
    expect((await b.attempt()).held).toBe(false);
  });

  it("is taken over once expired, by exactly one of the replicas trying; the old holder's renewal then fails", async () => {
    const c = await s.open();
    try {
      const [a, b, cc] = [leaseOn(s.file.db, "a"), leaseOn(s.other, "b"), leaseOn(c, "c")];
      await a.attempt();
      clock.now = T0 + LEASE_MS;
      const [rb, rc] = await Promise.all([b.attempt(), cc.attempt()]);
      expect([rb.held, rc.held].sort()).toEqual([false, true]);
      const winner = rb.held ? "b" : "c";
      expect(await readLease(s.file.db, "test")).toEqual({
        name: "test",
        holder: winner,
        expiresAt: T0 + 2 * LEASE_MS,
        acquiredAt: T0 + LEASE_MS,
      });
      expect(await a.attempt()).toMatchObject({ held: false, current: { holder: winner } });
    } finally {
      c.$client.close();
    }
  });

  it("a holder that returns after its lease expired, nobody having taken it, holds it anew", async () => {
    const a = leaseOn(s.file.db, "a");
    await a.attempt();
    clock.now = T0 + LEASE_MS + 1;
    expect(await a.attempt()).toMatchObject({ held: true, acquiredAt: T0 + LEASE_MS + 1 });
  });

  it("its deadline (validUntil) comes before anyone else can take the lease", async () => {
    const [a, b] = [leaseOn(s.file.db, "a"), leaseOn(s.other, "b")];
    const held = await a.attempt();
    if (!held.held) throw new Error("not held");
    clock.now = held.validUntil;
    expect((await b.attempt()).held).toBe(false);
    clock.now = held.expiresAt - 1;
    expect((await b.attempt()).held).toBe(false);
    clock.now = held.expiresAt;
    expect((await b.attempt()).held).toBe(true);
  });

  it("fencing: check() inside a transaction refuses the write of a replica that is not (or no longer) the holder", async () => {
    const [a, b] = [leaseOn(s.file.db, "a"), leaseOn(s.other, "b")];
    const write = (db: Db, lease: Lease) =>
      writeTransaction(db, async (tx) => {
        await lease.check(tx);
        await tx.run("CREATE TABLE IF NOT EXISTS fenced (who TEXT)");
        await tx.run(`INSERT INTO fenced VALUES ('${lease.o.holder}')`);
      });
    await expect(write(s.file.db, a)).rejects.toThrow(LeaseLost); // nobody holds it yet
    await a.attempt();
    await write(s.file.db, a);
    await expect(write(s.other, b)).rejects.toThrow(/not held by b \(held by a\)/);
    clock.now = T0 + LEASE_MS;
    await expect(write(s.file.db, a)).rejects.toThrow(/not held by a \(expired 0 ms ago\)/);
    await b.attempt();
    await write(s.other, b);
    await expect(write(s.file.db, a)).rejects.toThrow(/held by b/);
    const rows = (await s.file.db.$client.execute("SELECT who FROM fenced")).rows.map((r) => r.who);
    expect(rows).toEqual(["a", "b"]);
  });

  it("release() lets another replica take it at once", async () => {
    const [a, b] = [leaseOn(s.file.db, "a"), leaseOn(s.other, "b")];
    await a.attempt();
    await b.release(); // not b's: changes nothing
    expect((await b.attempt()).held).toBe(false);
    await a.release();
    expect((await b.attempt()).held).toBe(true);
  });

  it("refuses a margin that leaves no lease, and makes distinct replica ids on one host", () => {
    expect(() => new Lease(s.file.db, { name: "x", holder: "a", leaseMs: 10, marginMs: 10, now })).toThrow(
      /margin 10 ms must be at least 0 and below the lease of 10 ms/,
    );
    const [x, y] = [replicaId("pod-1"), replicaId("pod-1")];
    expect(x).toMatch(/^pod-1\/[0-9a-f]{6}$/);
    expect(x).not.toBe(y);
  });
});

describe("the once-only writers, fenced", () => {
  it("the Kubernetes service sync and alert evaluation write nothing on a replica that does not hold the lease", async () => {
    const [a, b] = [leaseOn(s.file.db, "a"), leaseOn(s.other, "b")];
    await a.attempt();
    const ref = { namespace: "default", name: "fenced", portName: "http" };
    const service = ServiceInput.parse({ ...ref, vip: "10.96.0.30", port: 80, protocol: "TCP", backends: [] });
    await expect(syncServices(s.other, "kubernetes", [service], now(), (tx) => b.check(tx))).rejects.toThrow(LeaseLost);
    expect(await readVersion(s.file.db)).toBe(0);
    expect(await syncServices(s.file.db, "kubernetes", [service], now(), (tx) => a.check(tx))).toMatchObject({
      version: 1,
    });
    const settings = { staleAfterMs: 30_000, retention: DEFAULT_MONITORING_SETTINGS.retention };
    await expect(evaluateAlerts(s.other, now(), settings, (tx) => b.check(tx))).rejects.toThrow(LeaseLost);
    expect(await evaluateAlerts(s.file.db, now(), settings, (tx) => a.check(tx))).toEqual({
      fired: 0,
      resolved: 0,
      pending: 0,
    });
  });

  it("a maintenance run ends between its transactions when its signal aborts", async () => {
    await expect(runMaintenance(s.file.db, now(), DEFAULT_MONITORING_SETTINGS, AbortSignal.abort())).rejects.toThrow(
      /aborted/,
    );
  });
});

/** A job that records when (on the test clock) it was started and stopped. */
function recorder(events: string[], name: string): OnceOnlyJob {
  return {
    name,
    start: () => {
      events.push(`${name} start @${clock.now - T0}`);
      return { stop: async () => void events.push(`${name} stop @${clock.now - T0}`) };
    },
  };
}

describe("LeaseKeeper", () => {
  const keeper = (db: Db, replica: string, events: string[], log: string[] = []) =>
    new LeaseKeeper(
      { db, replica, name: "test", leaseMs: LEASE_MS, renewMs: RENEW_MS, now, log: (m) => log.push(m) },
      [recorder(events, replica)],
    );

  it("runs the work on the holder only, and moves it when the holder stops and releases", async () => {
    const events: string[] = [];
    const log: string[] = [];
    const [a, b] = [keeper(s.file.db, "a", events, log), keeper(s.other, "b", events, log)];
    await a.step();
    await b.step();
    expect(events).toEqual(["a start @0"]);
    expect(a.status()).toEqual({
      replica: "a",
      held: true,
      holder: "a",
      expiresAt: T0 + LEASE_MS,
      acquisitions: 1,
      failures: 0,
    });
    expect(b.status()).toMatchObject({ replica: "b", held: false, holder: "a", acquisitions: 0 });
    clock.now += RENEW_MS;
    await a.step(); // a renewal: no second start
    await b.step();
    expect(events).toEqual(["a start @0"]);
    expect(a.status().acquisitions).toBe(1);
    await a.stop();
    await b.step();
    expect(events).toEqual(["a start @0", "a stop @5000", "b start @5000"]);
    expect(log).toContain("b took the lease from a: running b");
    expect(b.status()).toMatchObject({ held: true, holder: "b", acquisitions: 1 });
  });

  it("fencing: a holder that cannot renew stops its work at its deadline, before another replica can take over", async () => {
    const events: string[] = [];
    const [a, b] = [keeper(s.file.db, "a", events), keeper(s.other, "b", events)];
    await a.step();
    s.file.db.$client.close(); // a's database is gone: its renewals fail from now on
    for (const t of [RENEW_MS, 2 * RENEW_MS - 1]) {
      clock.now = T0 + t;
      await a.step();
      await a.enforce();
      await b.step();
    }
    expect(events).toEqual(["a start @0"]); // before its deadline a still runs, and nobody else
    expect(a.status()).toMatchObject({ held: true, failures: 2 });
    clock.now = T0 + LEASE_MS - RENEW_MS; // a's deadline
    await a.enforce();
    expect(events).toEqual(["a start @0", "a stop @10000"]);
    expect(a.status().held).toBe(false);
    clock.now = T0 + LEASE_MS - 1;
    await b.step();
    expect(events).toHaveLength(2);
    clock.now = T0 + LEASE_MS; // the lease expires: b takes over, 5 s after a stopped
    await b.step();
    expect(events).toEqual(["a start @0", "a stop @10000", "b start @15000"]);
  });

  it("a holder whose renewal finds another replica holding the lease stops its work at once", async () => {
    const events: string[] = [];
    const [a, b] = [keeper(s.file.db, "a", events), keeper(s.other, "b", events)];
    await a.step();
    clock.now = T0 + LEASE_MS; // a stalled past its lease (no fence timer ran); b takes over
    await b.step();
    await a.step();
    expect(events).toEqual(["a start @0", "b start @15000", "a stop @15000"]);
    expect(a.status()).toMatchObject({ held: false, holder: "b" });
  });

  it("refuses renewals too rare for its lease", () => {
    expect(() => new LeaseKeeper({ db: s.file.db, replica: "a", name: "x", leaseMs: 10_000, renewMs: 5_000 }, []))
      .toThrow(/a lease of 10000 ms needs renewals at most every third of it \(got 5000 ms\)/);
  });
});

describe("LeaseKeeper on its own timers", () => {
  it("hands the work over without overlap when the holder's database goes away", async () => {
    const spans: Record<string, { start?: number; stop?: number }> = { a: {}, b: {} };
    const job = (replica: string): OnceOnlyJob => ({
      name: replica,
      start: () => {
        spans[replica]!.start = Date.now();
        return { stop: async () => void (spans[replica]!.stop = Date.now()) };
      },
    });
    const settings = { name: "timed", leaseMs: 900, renewMs: 300, log: () => undefined };
    const a = new LeaseKeeper({ ...settings, db: s.file.db, replica: "a" }, [job("a")]);
    const b = new LeaseKeeper({ ...settings, db: s.other, replica: "b" }, [job("b")]);
    try {
      a.start();
      await until(() => a.status().held);
      b.start();
      await new Promise((r) => setTimeout(r, 400));
      expect(b.status()).toMatchObject({ held: false, holder: "a" });
      s.file.db.$client.close();
      await until(() => b.status().held, 3_000);
      expect(spans.a.stop).toBeDefined();
      expect(spans.b.start! - spans.a.stop!).toBeGreaterThanOrEqual(200); // the margin, less timer jitter
    } finally {
      await a.stop();
      await b.stop();
    }
  });
});

async function until(cond: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 20));
  }
}
