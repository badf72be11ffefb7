// SPDX-License-Identifier: Apache-2.0
/**
 * Node credentials, admin only:
 *   DELETE /api/v1/nodes/:node/credentials → { node, revoked }: revokes every
 *     credential of the node; its agent gets 401 on the next batch, and any
 *     join with a valid join token may take the name.
 *   POST /api/v1/nodes/:node/rejoin  { ttlSeconds? } → { node, approvedUntil }:
 *     the next join of the node within ttlSeconds (default 15 min, at most a
 *     day) replaces its live credential, which keeps working until then; that
 *     join uses the approval up. 404 when the node has no live credential
 *     (any join may take the name; nothing to approve). Approving again sets
 *     a new deadline.
 * Without either, a join for a node whose credential is live is refused with
 * 409 until the node is Lost (control/registry/node-credentials.ts).
 */
import { Hono } from "hono";
import { z } from "zod";
import { type AccessSettings, requireAdmin } from "../auth/access.ts";
import type { Db } from "../db/client.ts";
import { limitBody, readJson, SMALL_BODY_BYTES } from "../http/body.ts";
import { jsonError, jsonResponse } from "../http/json.ts";
import { parseOr400 } from "../http/validation.ts";
import { approveRejoin, revokeCredentials } from "../registry/node-credentials.ts";
import { NodeParams } from "./params.ts";

/** Long enough to reinstall a machine and start its agent (which asks again at least every 5 min); short enough to be forgotten safely. */
export const REJOIN_DEFAULT_TTL_SECONDS = 900;
const REJOIN_MAX_TTL_SECONDS = 86_400;

export const RejoinBody = z.strictObject({
  ttlSeconds: z.number().int().min(1).max(REJOIN_MAX_TTL_SECONDS).default(REJOIN_DEFAULT_TTL_SECONDS),
});

export function credentialRoutes(db: Db, { now, access }: { now: () => number; access: AccessSettings }): Hono {
  const routes = new Hono();
  const admin = requireAdmin(access);

  routes.delete("/nodes/:node/credentials", admin, async (c) => {
    const params = parseOr400(NodeParams, c.req.param(), "invalid node name");
    if (!params.ok) return params.response;
    const { node } = params.data;
    return jsonResponse({ node, revoked: await revokeCredentials(db, node, now()) });
  });

  routes.post("/nodes/:node/rejoin", limitBody(SMALL_BODY_BYTES), admin, async (c) => {
    const params = parseOr400(NodeParams, c.req.param(), "invalid node name");
    if (!params.ok) return params.response;
    const body = await readJson(c, {});
    if (!body.ok) return body.response;
    const opts = parseOr400(RejoinBody, body.data, "invalid re-join approval");
    if (!opts.ok) return opts.response;
    const { node } = params.data;
    const until = now() + opts.data.ttlSeconds * 1000;
    if (!(await approveRejoin(db, node, until))) {
      return jsonError(
        404,
        `node '${node}' has no live credential: any join with a valid join token may take the name, nothing to approve`,
      );
    }
    return jsonResponse({ node, approvedUntil: new Date(until).toISOString() });
  });
  return routes;
}
