// SPDX-License-Identifier: Apache-2.0
/**
 * One replica's handle on a named lease row (table `leases`): the database
 * side of "this work runs on one replica only" (keeper.ts runs the work).
 *
 * - attempt(): takes the lease when it is free or expired, or renews it when
 *   this replica holds it, in ONE conditional upsert. SQLite (and sqld)
 *   serialise writes, so of two replicas racing for an expired lease exactly
 *   one statement finds the condition true; the other changes nothing.
 * - The holder counts itself holder only until `validUntil`: the moment it
 *   sent its last successful renewal plus the lease, minus a margin. It
 *   stops the work by then, so a holder that cannot renew (database down,
 *   network split, a stalled process) has stopped before another replica
 *   can see the lease expired (fencing). Clocks of the replicas must agree
 *   within that margin (NTP does far better).
 * - check(tx): the fencing token inside a write transaction: throws
 *   LeaseLost unless the row still names this replica and has not expired.
 *   A takeover is itself a write, so it is ordered before or after the
 *   transaction: a stale holder's write can never land after another
 *   replica took over.
 *
 * Times are ms on the writer's clock (`now`).
 */
import { hostname } from "node:os";
import { randomBytes } from "node:crypto";
import { and, eq, lte, or, sql } from "drizzle-orm";
import type { Db, Queryable, Tx } from "../db/client.ts";
import { type LeaseRow, leases } from "../db/schema.ts";
import { enqueueWrite } from "../db/write-queue.ts";

/** The lease of the work that must run once per cluster (Kubernetes sync, rollups and retention, alerts). */
export const ONCE_ONLY_LEASE = "once-only";

export interface LeaseOptions {
  /** Which lease (its row's name). */
  name: string;
  /** This replica's id (replicaId()). */
  holder: string;
  leaseMs: number;
  /** How long before the lease's expiry the holder stops counting itself holder (the fencing margin). */
  marginMs: number;
  now: () => number;
}

export type Attempt =
  | {
    held: true;
    /** As written: the lease's expiry, and when this holder took it. */
    expiresAt: number;
    acquiredAt: number;
    /** This holder's own deadline: it must have stopped the work by then unless it renews. */
    validUntil: number;
  }
  | {
    held: false;
    /** The row as it stands (another replica's live lease), when it could be read. */
    current?: LeaseRow;
  };

/** A check run first in a write transaction that throws to refuse it: Lease.check, for work only the holder may do. */
export type Fence = (tx: Tx) => Promise<void>;

/** Thrown by Lease.check inside a transaction of a replica that no longer holds the lease. */
export class LeaseLost extends Error {
  constructor(name: string, holder: string, row: LeaseRow | undefined, now: number) {
    const why = row === undefined
      ? "no lease row"
      : row.holder !== holder
      ? `held by ${row.holder}`
      : `expired ${now - row.expiresAt} ms ago`;
    super(`lease "${name}" is not held by ${holder} (${why}); write refused`);
    this.name = "LeaseLost";
  }
}

/** A replica's id: its host name (the pod's name in Kubernetes) and a random suffix per process start. */
export function replicaId(host: string = hostname()): string {
  return `${host}/${randomBytes(3).toString("hex")}`;
}

export class Lease {
  constructor(private readonly db: Db, readonly o: LeaseOptions) {
    if (!(o.marginMs >= 0 && o.marginMs < o.leaseMs)) {
      throw new Error(`lease margin ${o.marginMs} ms must be at least 0 and below the lease of ${o.leaseMs} ms`);
    }
  }

  /** One try to take or renew the lease; throws only when the database does. */
  async attempt(): Promise<Attempt> {
    const { name, holder, leaseMs, marginMs } = this.o;
    // Read before the statement: the deadline must not lie later than the expiry the statement writes.
    const at = this.o.now();
    const expiresAt = at + leaseMs;
    const [row] = await enqueueWrite(this.db.$client, () =>
      this.db
        .insert(leases)
        .values({ name, holder, expiresAt, acquiredAt: at })
        .onConflictDoUpdate({
          target: leases.name,
          set: {
            holder,
            expiresAt,
            // A renewal keeps the time it was taken; a take-over (or a holder returning after expiry) starts anew.
            acquiredAt: sql`CASE WHEN ${leases.holder} = ${holder} AND ${leases.expiresAt} > ${at}
              THEN ${leases.acquiredAt} ELSE ${at} END`,
          },
          // The one condition: ours already, or nobody's any more.
          setWhere: or(eq(leases.holder, holder), lte(leases.expiresAt, at)),
        })
        .returning());
    if (row !== undefined) {
      return { held: true, expiresAt: row.expiresAt, acquiredAt: row.acquiredAt, validUntil: expiresAt - marginMs };
    }
    return { held: false, current: await readLease(this.db, name) };
  }

  /** Ends this replica's lease at once (at shutdown, after its work stopped), so another takes over at its next try. */
  async release(): Promise<void> {
    const { name, holder } = this.o;
    const now = this.o.now();
    await enqueueWrite(
      this.db.$client,
      () => this.db.update(leases).set({ expiresAt: now }).where(and(eq(leases.name, name), eq(leases.holder, holder))),
    );
  }

  /** The fencing check, inside a write transaction: throws LeaseLost unless this replica holds the lease now. */
  async check(tx: Tx): Promise<void> {
    const { name, holder } = this.o;
    const now = this.o.now();
    const row = await readLease(tx, name);
    if (row === undefined || row.holder !== holder || row.expiresAt <= now) {
      throw new LeaseLost(name, holder, row, now);
    }
  }
}

/** The lease's row as stored (expired or not), undefined when nobody ever took it. */
export async function readLease(db: Queryable, name: string = ONCE_ONLY_LEASE): Promise<LeaseRow | undefined> {
  return (await db.select().from(leases).where(eq(leases.name, name)))[0];
}
