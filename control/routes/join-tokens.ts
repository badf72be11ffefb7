// SPDX-License-Identifier: Apache-2.0
/**
 * Join tokens, admin only:
 *   POST   /api/v1/join-tokens      { ttlSeconds? | expires: "never", description? } → 201 { id, token, expiresAt }
 *          (expires "never": no expiry, for a DaemonSet; revoke or rotate it instead: expiresAt null)
 *   GET    /api/v1/join-tokens      → JoinTokenView[] (no secrets; expired and revoked flagged)
 *   DELETE /api/v1/join-tokens/:id  → JoinTokenView (revoked), 404 unknown id
 */
import { Hono } from "hono";
import { z } from "zod";
import { type AccessSettings, requireAdmin } from "../auth/access.ts";
import type { Db } from "../db/client.ts";
import { limitBody, readJson, SMALL_BODY_BYTES } from "../http/body.ts";
import { jsonError, jsonResponse } from "../http/json.ts";
import { parseOr400 } from "../http/validation.ts";
import { createJoinToken, listJoinTokens, revokeJoinToken } from "../registry/join-tokens.ts";

const DAY_SECONDS = 86_400;

export const NewJoinTokenBody = z
  .strictObject({
    ttlSeconds: z.number().int().min(1).max(30 * DAY_SECONDS).optional(),
    expires: z.literal("never").optional().describe(
      "A token that never expires (a DaemonSet's: nodes join any time later); revoke or rotate it instead",
    ),
    description: z.string().max(256).optional(),
  })
  .refine((b) => b.ttlSeconds === undefined || b.expires === undefined, {
    path: ["expires"],
    message: 'give ttlSeconds or expires: "never", not both',
  })
  .transform((b) => ({ ...b, ttlSeconds: b.ttlSeconds ?? DAY_SECONDS }));

export const JoinTokenParams = z.object({
  id: z.string().regex(/^[0-9a-f]{16}$/, "must be a join token id (16 hex digits)"),
});

export function joinTokenRoutes(db: Db, { now, access }: { now: () => number; access: AccessSettings }): Hono {
  const routes = new Hono();
  const admin = requireAdmin(access);

  routes.post("/join-tokens", limitBody(SMALL_BODY_BYTES), admin, async (c) => {
    const body = await readJson(c, {});
    if (!body.ok) return body.response;
    const opts = parseOr400(NewJoinTokenBody, body.data, "invalid join token request");
    if (!opts.ok) return opts.response;
    return jsonResponse(await createJoinToken(db, opts.data, now()), 201);
  });

  routes.get("/join-tokens", admin, async () => jsonResponse(await listJoinTokens(db, now())));

  routes.delete("/join-tokens/:id", admin, async (c) => {
    const params = parseOr400(JoinTokenParams, c.req.param(), "invalid join token id");
    if (!params.ok) return params.response;
    const revoked = await revokeJoinToken(db, params.data.id, now());
    return revoked === undefined ? jsonError(404, `join token '${params.data.id}' not found`) : jsonResponse(revoked);
  });
  return routes;
}
