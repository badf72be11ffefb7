// SPDX-License-Identifier: Apache-2.0
/**
 * Who runs the once-only work, as /readyz, /metrics and the overview page
 * say it: the holder from the database (every replica answers the same), and
 * this replica's own side when it runs a keeper (keeper.ts).
 */
import type { Queryable } from "../db/client.ts";
import type { LeaseStatus } from "./keeper.ts";
import { ONCE_ONLY_LEASE, readLease } from "./lease.ts";

export interface LeaseView {
  /** The replica holding the lease now; null when none does (never taken, expired or released). */
  holder: string | null;
  /** When the holder's lease runs out unless renewed (ms, its clock); null with no holder. */
  expiresAt: number | null;
  /** The replica answering: its id, whether it holds the lease, its counts; absent where no keeper runs (tests). */
  self?: LeaseStatus;
}

export async function leaseView(db: Queryable, now: number, self?: () => LeaseStatus): Promise<LeaseView> {
  const row = await readLease(db, ONCE_ONLY_LEASE);
  const live = row !== undefined && row.expiresAt > now;
  return {
    holder: live ? row.holder : null,
    expiresAt: live ? row.expiresAt : null,
    ...(self ? { self: self() } : {}),
  };
}
