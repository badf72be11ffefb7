// SPDX-License-Identifier: Apache-2.0
/**
 * Join tokens, made by an admin and presented once by each agent to obtain a
 * node credential. A token is multi-use until it expires or is revoked, like
 * a kubeadm bootstrap token: one token serves a whole DaemonSet. The secret
 * is shown once, at creation; only its SHA-256 is stored.
 *
 * A token made with `expires: "never"` has no expiry (expiresAt null): the
 * DaemonSet's token, which nodes added any time later (autoscaling) must
 * still be able to use. It is revoked or rotated instead (k8s/scripts/
 * install.sh --rotate-join-token; docs/nodes.md): joined nodes keep their own
 * credentials, so revoking a join token cuts no node off.
 */
import { desc, eq, sql } from "drizzle-orm";
import type { Db, Queryable } from "../db/client.ts";
import { type JoinTokenRow, joinTokens } from "../db/schema.ts";
import { writeTransaction } from "../db/write-queue.ts";
import { newId, newSecret, sha256Hex } from "../auth/secrets.ts";
import { isoOrNull } from "../queries/time.ts";

export const JOIN_TOKEN_PREFIX = "ek8s_join_";

export interface NewJoinToken {
  id: string;
  /** The secret: shown in this answer only. */
  token: string;
  /** Null: never expires. */
  expiresAt: string | null;
}

export interface JoinTokenView {
  id: string;
  description: string | null;
  createdAt: string;
  /** Null: never expires. */
  expiresAt: string | null;
  revokedAt: string | null;
  expired: boolean;
  revoked: boolean;
  /** Successful joins with this token. */
  uses: number;
  lastUsedAt: string | null;
}

export type JoinTokenCheck = { ok: true; id: string } | { ok: false; reason: "unknown" | "expired" | "revoked" };

export async function createJoinToken(
  db: Db,
  opts: { ttlSeconds: number; expires?: "never"; description?: string },
  now: number,
): Promise<NewJoinToken> {
  const token = newSecret(JOIN_TOKEN_PREFIX);
  const row = {
    id: newId(),
    tokenHash: await sha256Hex(token),
    description: opts.description ?? null,
    createdAt: now,
    expiresAt: opts.expires === "never" ? null : now + opts.ttlSeconds * 1000,
  };
  await writeTransaction(db, (tx) => tx.insert(joinTokens).values(row));
  return { id: row.id, token, expiresAt: isoOrNull(row.expiresAt) };
}

/** Counts a successful join. */
export async function recordJoinTokenUse(tx: Queryable, id: string, now: number): Promise<void> {
  await tx
    .update(joinTokens)
    .set({ uses: sql`${joinTokens.uses} + 1`, lastUsedAt: now })
    .where(eq(joinTokens.id, id));
}

/** Newest first, without secrets, expired and revoked ones included (and flagged). */
export async function listJoinTokens(db: Db, now: number): Promise<JoinTokenView[]> {
  const rows = await db.select().from(joinTokens).orderBy(desc(joinTokens.createdAt), joinTokens.id);
  return rows.map((row) => toView(row, now));
}

/** Undefined for an unknown id; revoking twice keeps the first revocation time. */
export function revokeJoinToken(db: Db, id: string, now: number): Promise<JoinTokenView | undefined> {
  return writeTransaction(db, async (tx) => {
    const row = await tx.select().from(joinTokens).where(eq(joinTokens.id, id)).get();
    if (row === undefined) return undefined;
    if (row.revokedAt !== null) return toView(row, now);
    await tx.update(joinTokens).set({ revokedAt: now }).where(eq(joinTokens.id, id));
    return toView({ ...row, revokedAt: now }, now);
  });
}

/** Whether the token with this SHA-256 may join now; call inside the join's transaction. */
export async function checkJoinToken(db: Queryable, tokenHash: string, now: number): Promise<JoinTokenCheck> {
  const row = await db.select().from(joinTokens).where(eq(joinTokens.tokenHash, tokenHash)).get();
  if (row === undefined) return { ok: false, reason: "unknown" };
  if (row.revokedAt !== null) return { ok: false, reason: "revoked" };
  if (isExpired(row, now)) return { ok: false, reason: "expired" };
  return { ok: true, id: row.id };
}

function toView(row: JoinTokenRow, now: number): JoinTokenView {
  return {
    id: row.id,
    description: row.description,
    createdAt: new Date(row.createdAt).toISOString(),
    expiresAt: isoOrNull(row.expiresAt),
    revokedAt: isoOrNull(row.revokedAt),
    expired: isExpired(row, now),
    revoked: row.revokedAt !== null,
    uses: row.uses,
    lastUsedAt: isoOrNull(row.lastUsedAt),
  };
}

function isExpired(row: Pick<JoinTokenRow, "expiresAt">, now: number): boolean {
  return row.expiresAt !== null && row.expiresAt <= now;
}
