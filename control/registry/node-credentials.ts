/**
 * Node credentials: what an agent sends as `Authorization: Bearer` on every
 * ingest. Obtained by joining with a join token; only the SHA-256 is stored.
 *
 * Joining again replaces the node's credentials: the earlier ones are revoked
 * in the same transaction. A node then has exactly one live credential, a
 * credential copied off an old disk or pod dies with the next join, and the
 * table does not grow live entries with every agent restart. (Two agents
 * misconfigured with the same node name would knock each other out, which
 * makes that mistake visible instead of mixing their counters.)
 */
import { and, eq, isNull } from "drizzle-orm";
import type { Db, Queryable } from "../db/client.ts";
import { nodeCredentials } from "../db/schema.ts";
import { writeTransaction } from "../db/write-queue.ts";
import { newId, newSecret, sha256Hex } from "../auth/secrets.ts";
import type { JoinRequest, JoinResponse } from "../wire/batch.ts";
import { desiredStateOf } from "./desired-state.ts";
import { checkJoinToken, recordJoinTokenUse } from "./join-tokens.ts";

export const CREDENTIAL_PREFIX = "ek8s_node_";

export type JoinOutcome = { ok: true; response: JoinResponse } | {
  ok: false;
  reason: "unknown" | "expired" | "revoked";
};
export type CredentialCheck = { ok: true; node: string } | { ok: false; reason: "invalid" | "revoked" };

export async function joinNode(db: Db, request: JoinRequest, now: number): Promise<JoinOutcome> {
  const credential = newSecret(CREDENTIAL_PREFIX);
  // Hash outside the transaction: it is the only step that waits on something other than the database.
  const [joinTokenHash, credentialHash] = await Promise.all([sha256Hex(request.token), sha256Hex(credential)]);

  return writeTransaction(db, async (tx): Promise<JoinOutcome> => {
    const check = await checkJoinToken(tx, joinTokenHash, now);
    if (!check.ok) return check;
    await revokeLive(tx, request.node, now);
    await tx.insert(nodeCredentials).values({
      id: newId(),
      node: request.node,
      tokenHash: credentialHash,
      joinTokenId: check.id,
      createdAt: now,
    });
    await recordJoinTokenUse(tx, check.id, now);
    return { ok: true, response: { node: request.node, credential, desired: await desiredStateOf(tx, request.node) } };
  });
}

export async function checkCredential(db: Db, credential: string): Promise<CredentialCheck> {
  const row = await db
    .select({ node: nodeCredentials.node, revokedAt: nodeCredentials.revokedAt })
    .from(nodeCredentials)
    .where(eq(nodeCredentials.tokenHash, await sha256Hex(credential)))
    .get();
  if (row === undefined) return { ok: false, reason: "invalid" };
  if (row.revokedAt !== null) return { ok: false, reason: "revoked" };
  return { ok: true, node: row.node };
}

/** Revokes every live credential of `node`; answers how many there were. */
export function revokeCredentials(db: Db, node: string, now: number): Promise<number> {
  return writeTransaction(db, (tx) => revokeLive(tx, node, now));
}

async function revokeLive(tx: Queryable, node: string, now: number): Promise<number> {
  const revoked = await tx
    .update(nodeCredentials)
    .set({ revokedAt: now })
    .where(and(eq(nodeCredentials.node, node), isNull(nodeCredentials.revokedAt)))
    .returning({ id: nodeCredentials.id });
  return revoked.length;
}
