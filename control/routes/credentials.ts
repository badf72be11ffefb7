/**
 * DELETE /api/v1/nodes/:node/credentials (admin) → { node, revoked }: revokes
 * every credential of the node; its agent gets 401 on the next batch and has
 * to join again (which needs a valid join token).
 */
import { Hono } from "hono";
import { type AccessSettings, requireAdmin } from "../auth/access.ts";
import type { Db } from "../db/client.ts";
import { jsonResponse } from "../http/json.ts";
import { parseOr400 } from "../http/validation.ts";
import { revokeCredentials } from "../registry/node-credentials.ts";
import { NodeParams } from "./params.ts";

export function credentialRoutes(db: Db, { now, access }: { now: () => number; access: AccessSettings }): Hono {
  const routes = new Hono();
  routes.delete("/nodes/:node/credentials", requireAdmin(access), async (c) => {
    const params = parseOr400(NodeParams, c.req.param(), "invalid node name");
    if (!params.ok) return params.response;
    const { node } = params.data;
    return jsonResponse({ node, revoked: await revokeCredentials(db, node, now()) });
  });
  return routes;
}
