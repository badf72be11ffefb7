// SPDX-License-Identifier: Apache-2.0
/**
 * POST /api/v1/join: JoinRequest → 200 JoinResponse (a new node credential
 * and the node's desired state, cut for the agent's wire version when the
 * request names it in JOIN_WIRE_VERSION_HEADER). 401 for an unknown, expired or revoked join
 * token; 400 for a malformed request; 409 `{ error, conflict: "node", node,
 * lastActiveAt, lostAt }` when the node's credential is live (it is not Lost,
 * and no admin revoked it or approved the re-join: control/registry/node-credentials.ts),
 * nothing written; 429 with Retry-After after too many failed attempts from
 * one address (guessing tokens), counted per address so that a whole cluster
 * joining at once with a good token is never slowed. A 409 does not count as
 * a failure: the token was good.
 */
import { Hono } from "hono";
import type { Db } from "../db/client.ts";
import { clientAddress } from "../http/client-address.ts";
import { limitBody, readJson, SMALL_BODY_BYTES } from "../http/body.ts";
import { jsonError, jsonResponse } from "../http/json.ts";
import { TokenBuckets, tooManyRequests } from "../http/rate-limit.ts";
import { parseOr400 } from "../http/validation.ts";
import { joinNode, type NodeTaken } from "../registry/node-credentials.ts";
import { JoinRequest } from "../wire/batch.ts";
import { JOIN_WIRE_VERSION_HEADER, joinWireVersion } from "../wire/version.ts";

export interface JoinOptions {
  now: () => number;
  /** Failed joins per address: sustained per second, and burst. */
  failureRatePerSec: number;
  failureBurst: number;
  /** EBPF_K8S_LOST_AFTER: how long a node must be silent before a join may take its name without an admin. */
  lostAfterMs: number;
}

export function joinRoutes(db: Db, { now, failureRatePerSec, failureBurst, lostAfterMs }: JoinOptions): Hono {
  const routes = new Hono();
  const failures = new TokenBuckets({ ratePerSec: failureRatePerSec, burst: failureBurst, now });

  routes.post("/join", limitBody(SMALL_BODY_BYTES, "join request"), async (c) => {
    const address = clientAddress(c);
    const wait = failures.waitSeconds(address);
    if (wait > 0) return tooManyRequests("failed joins from this address", wait);

    const body = await readJson(c);
    if (!body.ok) return body.response;
    const request = parseOr400(JoinRequest, body.data, "invalid join request");
    if (!request.ok) return request.response;

    const at = now();
    const wireVersion = joinWireVersion(c.req.header(JOIN_WIRE_VERSION_HEADER));
    const outcome = await joinNode(db, request.data, at, { lostAfterMs }, wireVersion);
    if (outcome.ok) return jsonResponse(outcome.response);
    if (outcome.reason === "taken") return nodeTaken(outcome.taken, at, lostAfterMs);
    failures.take(address);
    return jsonError(401, `join token ${outcome.reason}`);
  });
  return routes;
}

/** The 409 of a join for a node whose credential is live: what happened, and the three ways on. */
function nodeTaken({ node, lastActive, lostAt }: NodeTaken, now: number, lostAfterMs: number): Response {
  const ago = Math.max(0, Math.floor((now - lastActive) / 1000));
  return jsonError(
    409,
    `node '${node}' already has a live credential (its agent was last heard from ${ago} s ago): ` +
      `joining would cut that agent off, so this join is refused. If this agent replaces it (the machine ` +
      `reinstalled, its state directory lost), an admin approves the re-join (POST /api/v1/nodes/${node}/rejoin) or ` +
      `revokes the old credential (DELETE /api/v1/nodes/${node}/credentials); without either, a join may take the ` +
      `name once the node is Lost (nothing heard from it for ${lostAfterMs / 1000} s). ` +
      `If it is another machine, give this agent another node name.`,
    {
      conflict: "node",
      node,
      lastActiveAt: new Date(lastActive).toISOString(),
      lostAt: new Date(lostAt).toISOString(),
    },
  );
}
