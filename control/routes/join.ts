/**
 * POST /api/v1/join: JoinRequest → 200 JoinResponse (a new node credential
 * and the node's desired state). 401 for an unknown, expired or revoked join
 * token; 400 for a malformed request; 429 with Retry-After after too many
 * failed attempts from one address (guessing tokens), counted per address so
 * that a whole cluster joining at once with a good token is never slowed.
 */
import { Hono } from "hono";
import type { Db } from "../db/client.ts";
import { clientAddress } from "../http/client-address.ts";
import { limitBody, readJson, SMALL_BODY_BYTES } from "../http/body.ts";
import { jsonError, jsonResponse } from "../http/json.ts";
import { TokenBuckets, tooManyRequests } from "../http/rate-limit.ts";
import { parseOr400 } from "../http/validation.ts";
import { joinNode } from "../registry/node-credentials.ts";
import { JoinRequest } from "../wire/batch.ts";

export interface JoinOptions {
  now: () => number;
  /** Failed joins per address: sustained per second, and burst. */
  failureRatePerSec: number;
  failureBurst: number;
}

export function joinRoutes(db: Db, { now, failureRatePerSec, failureBurst }: JoinOptions): Hono {
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

    const outcome = await joinNode(db, request.data, now());
    if (outcome.ok) return jsonResponse(outcome.response);
    failures.take(address);
    return jsonError(401, `join token ${outcome.reason}`);
  });
  return routes;
}
