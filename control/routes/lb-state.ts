// SPDX-License-Identifier: Apache-2.0
/**
 * GET /api/v1/lb/state?after=VERSION&wait=SECONDS: agents fetch the services
 * to program (LbState, control/wire/services.ts), authenticated with their
 * node credential exactly like ingest (Authorization: Bearer; 401 without a
 * valid one).
 *
 * - without `after`, or when the current version is not `after`: 200 LbState;
 * - otherwise the request is held until the version changes (then 200) or
 *   `wait` seconds pass (default 25, at most 60; 0 answers at once): 204.
 *
 * A change made through this replica wakes its waiting requests at once;
 * one made through another replica within about a second (watch.ts). Each
 * poll records `after` as the version the node has applied (shown with the
 * services). The answer is compact JSON: the same text for every node,
 * built once per version.
 */
import { Hono } from "hono";
import { z } from "zod";
import { type NodeAuthEnv, requireNodeCredential } from "../auth/node-auth.ts";
import type { Db } from "../db/client.ts";
import { invalidParameters, parseOr400 } from "../http/validation.ts";
import { optionalParam } from "../queries/monitoring/window.ts";
import { recordPoll } from "../services/nodes.ts";
import { lbStateJson } from "../services/state.ts";
import { waitForChange } from "../services/watch.ts";
import { LB_POLL_MODULE_HEADER } from "../wire/services.ts";

export const LB_STATE_PATH = "/api/v1/lb/state";
export const DEFAULT_WAIT_S = 25;
export const MAX_WAIT_S = 60;

const WholeNumber = (message: string) =>
  z
    .string()
    .regex(/^\d{1,15}$/, message)
    .transform(Number);

export const StateQuery = z.strictObject({
  after: optionalParam(WholeNumber("must be a version (a whole number)")),
  wait: optionalParam(
    WholeNumber(`must be whole seconds from 0 to ${MAX_WAIT_S}`).pipe(
      z.number().max(MAX_WAIT_S, `must be whole seconds from 0 to ${MAX_WAIT_S}`),
    ),
  ),
});

export function lbStateRoutes(db: Db, { now }: { now: () => number }): Hono<NodeAuthEnv> {
  const routes = new Hono<NodeAuthEnv>();

  routes.get("/lb/state", requireNodeCredential(db), async (c) => {
    const query = parseOr400(StateQuery, c.req.query(), invalidParameters("query"));
    if (!query.ok) return query.response;
    const { after, wait = DEFAULT_WAIT_S } = query.data;
    // A node's applied version is its lb module's: the other modules that follow the services (accel, gateway,
    // drops) poll on their own and apply at their own pace. An agent that names no module is one from before
    // they said (only lb and its kin polled then).
    const module = c.req.header(LB_POLL_MODULE_HEADER) ?? "lb";
    if (module === "lb") await recordPoll(db, c.get("node"), after ?? null, now());
    let body = await lbStateJson(db, after);
    if (body === undefined && wait > 0 && (await waitForChange(db, after!, wait * 1000, c.req.raw.signal))) {
      body = await lbStateJson(db, after);
    }
    if (body === undefined) return c.body(null, 204);
    return c.body(body, 200, { "content-type": "application/json; charset=UTF-8" });
  });

  return routes;
}
