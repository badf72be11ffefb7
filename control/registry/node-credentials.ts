// SPDX-License-Identifier: Apache-2.0
/**
 * Node credentials: what an agent sends as `Authorization: Bearer` on every
 * ingest. Obtained by joining with a join token; only the SHA-256 is stored.
 *
 * A node has at most one live credential. A join for a node name whose
 * credential is live is refused ("taken"): holding the cluster's join token
 * must not be enough to cut a healthy node off and speak for it. The join
 * replaces the live credential (revoking it in the same transaction) only
 *   - when the node is Lost: nothing authenticated with its credential for
 *     EBPF_K8S_LOST_AFTER (no batch, no lb-state poll, and the credential
 *     itself is older than that): a machine reinstalled after a crash, or
 *     an agent whose state directory was lost, gets its name back;
 *   - when an admin revoked the credential (DELETE /api/v1/nodes/:node/credentials):
 *     then there is no live credential and any join may take the name (so too
 *     when an admin deleted the node, DELETE /api/v1/nodes/:node: its
 *     credentials are gone with it, control/registry/node-removal.ts);
 *   - when an admin approved the re-join (POST /api/v1/nodes/:node/rejoin):
 *     the next join of that node before the approval expires replaces the
 *     credential, and only that one, as it revokes the approved credential.
 *     Until then the old credential keeps working, so a planned reinstall
 *     loses no batch.
 * The check and the insert run in one write transaction, so two joins racing
 * for a free name cannot both win and none can slip past the check. (Two
 * agents misconfigured with the same node name: the second is refused and
 * says so, instead of mixing their counters.)
 */
import { and, eq, isNull } from "drizzle-orm";
import type { Db, Queryable } from "../db/client.ts";
import { lbNodes, nodeCredentials, nodes } from "../db/schema.ts";
import { writeTransaction } from "../db/write-queue.ts";
import { newId, newSecret, sha256Hex } from "../auth/secrets.ts";
import type { JoinRequest, JoinResponse } from "../wire/batch.ts";
import { desiredForWireVersion } from "../wire/version.ts";
import { desiredStateOf } from "./desired-state.ts";
import { checkJoinToken, recordJoinTokenUse } from "./join-tokens.ts";

export const CREDENTIAL_PREFIX = "ek8s_node_";

export type JoinOutcome =
  | { ok: true; response: JoinResponse }
  | { ok: false; reason: "unknown" | "expired" | "revoked" }
  | { ok: false; reason: "taken"; taken: NodeTaken };
export type CredentialCheck = { ok: true; node: string } | { ok: false; reason: "invalid" | "revoked" };

/** Why a join for a node was refused: its credential is live. Times are the control plane's clock (ms). */
export interface NodeTaken {
  node: string;
  /** The last sign of its credential's holder: a batch, an lb-state poll, or else the join that made the credential. */
  lastActive: number;
  /** When the node turns Lost (and a join may take the name) if nothing more is heard from it. */
  lostAt: number;
}

export interface JoinRules {
  /** A node is Lost, and its name free to join, after this long without a sign of its credential (EBPF_K8S_LOST_AFTER). */
  lostAfterMs: number;
}

/** `wireVersion`: the joining agent's (joinWireVersion of its JOIN_WIRE_VERSION_HEADER). */
export async function joinNode(
  db: Db,
  request: JoinRequest,
  now: number,
  rules: JoinRules,
  wireVersion: number,
): Promise<JoinOutcome> {
  const credential = newSecret(CREDENTIAL_PREFIX);
  // Hash outside the transaction: it is the only step that waits on something other than the database.
  const [joinTokenHash, credentialHash] = await Promise.all([sha256Hex(request.token), sha256Hex(credential)]);

  return writeTransaction(db, async (tx): Promise<JoinOutcome> => {
    const check = await checkJoinToken(tx, joinTokenHash, now);
    if (!check.ok) return check;
    const taken = await takenBy(tx, request.node, now, rules);
    if (taken !== null) return { ok: false, reason: "taken", taken };
    await revokeLive(tx, request.node, now);
    await tx.insert(nodeCredentials).values({
      id: newId(),
      node: request.node,
      tokenHash: credentialHash,
      joinTokenId: check.id,
      createdAt: now,
    });
    await recordJoinTokenUse(tx, check.id, now);
    // without the modules the joining agent's version does not know (its strict schema would refuse them)
    const desired = desiredForWireVersion(await desiredStateOf(tx, request.node), wireVersion);
    return { ok: true, response: { node: request.node, credential, desired } };
  });
}

/** Null when a join may take `node` now: no live credential, the node is Lost, or an admin approved the re-join. */
async function takenBy(
  tx: Queryable,
  node: string,
  now: number,
  { lostAfterMs }: JoinRules,
): Promise<NodeTaken | null> {
  const live = await tx
    .select({ createdAt: nodeCredentials.createdAt, approvedUntil: nodeCredentials.rejoinApprovedUntil })
    .from(nodeCredentials)
    .where(and(eq(nodeCredentials.node, node), isNull(nodeCredentials.revokedAt)));
  if (live.length === 0) return null;
  if (live.some((c) => c.approvedUntil !== null && c.approvedUntil > now)) return null;
  // Batches and polls are only accepted with a live credential, so anything after its creation is its holder's.
  const batch = await tx.select({ at: nodes.lastSeen }).from(nodes).where(eq(nodes.name, node)).get();
  const poll = await tx.select({ at: lbNodes.polledAt }).from(lbNodes).where(eq(lbNodes.node, node)).get();
  const lastActive = Math.max(...live.map((c) => c.createdAt), batch?.at ?? 0, poll?.at ?? 0);
  return now - lastActive >= lostAfterMs ? null : { node, lastActive, lostAt: lastActive + lostAfterMs };
}

/**
 * Lets the next join of `node` replace its live credential until `until`
 * (an admin's approval of a re-join). False when the node has no live
 * credential, where any join may take the name and there is nothing to approve.
 */
export function approveRejoin(db: Db, node: string, until: number): Promise<boolean> {
  return writeTransaction(db, async (tx) => {
    const approved = await tx
      .update(nodeCredentials)
      .set({ rejoinApprovedUntil: until })
      .where(and(eq(nodeCredentials.node, node), isNull(nodeCredentials.revokedAt)))
      .returning({ id: nodeCredentials.id });
    return approved.length > 0;
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
