// SPDX-License-Identifier: Apache-2.0
/**
 * Ingest authentication: the agent sends its node credential (from joining)
 * as `Authorization: Bearer`. Checked from the header alone, before the body
 * is read or parsed, so a request without a valid credential costs one
 * indexed lookup. Revocation takes effect on the next request (nothing is cached).
 */
import type { MiddlewareHandler } from "hono";
import type { Db } from "../db/client.ts";
import { checkCredential } from "../registry/node-credentials.ts";
import { bearerToken, denyJson } from "./access.ts";

/** A credential never issued, or one whose node an admin deleted (its credentials go with it). */
export const UNKNOWN_CREDENTIAL =
  "unknown node credential (never issued, or its node was deleted); join again with a join token";

/** What the route after this middleware learns: the node the credential belongs to. */
export type NodeAuthEnv = { Variables: { node: string } };

export function requireNodeCredential(db: Db): MiddlewareHandler<NodeAuthEnv> {
  return async (c, next) => {
    const credential = bearerToken(c);
    if (credential === undefined) {
      return denyJson(c, 401, "node credential required (Authorization: Bearer); join first");
    }
    const check = credential === ""
      ? ({ ok: false, reason: "invalid" } as const)
      : await checkCredential(db, credential);
    if (!check.ok) {
      return denyJson(
        c,
        401,
        check.reason === "revoked" ? "node credential revoked; join again" : UNKNOWN_CREDENTIAL,
      );
    }
    c.set("node", check.node);
    await next();
  };
}
