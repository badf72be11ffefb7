// SPDX-License-Identifier: Apache-2.0
/**
 * Thresholds (reads open or token-protected like the node routes; writes admin only) and alerts:
 *   GET    /api/v1/thresholds       → ThresholdView[] (oldest first)
 *   POST   /api/v1/thresholds       ThresholdInput → 201 ThresholdView
 *   GET    /api/v1/thresholds/:id   → ThresholdView
 *   PUT    /api/v1/thresholds/:id   ThresholdInput (the whole threshold) → ThresholdView
 *   DELETE /api/v1/thresholds/:id   → ThresholdView (its alerts stay in the history, resolved)
 *   GET    /api/v1/alerts?state=active|resolved|all&node=&threshold=&since=&limit=
 *                                   → AlertView[]: active first (latest fired first), then resolved (latest first)
 *
 * ThresholdInput = { metric: "rxBytesPerSec"|"txBytesPerSec"|"dropsPerSec"|"retransmitsPerSec"|
 * "failedConnectionsPerSec"|"heartbeatAgeSeconds", scope: { kind: "all" } (every node) | { kind:
 * "node", target: NAME } | { kind: "pod", target: "NAMESPACE/NAME" } | { kind: "all-pods" },
 * upper?, lower? (at least one; lower below upper; ≥ 0, in the metric's unit: B/s, /s or s),
 * holdSeconds? (60), description?, enabled? (true) } (control/alerts/model.ts).
 * ThresholdView adds id, unit, createdAt, updatedAt and the counts of its
 * active alerts and pending targets. AlertView: control/alerts/alerts.ts.
 *
 * `state` defaults to all; `node`: alerts about that node or a pod on it;
 * `threshold`: one threshold's; `since` (ISO 8601 time or duration back
 * from now): alerts active at some time since; `limit` 1–5000, default 200.
 * 400 names the bad field or parameter, 404 an unknown threshold id.
 */
import { Hono } from "hono";
import { z } from "zod";
import { listAlerts } from "../alerts/alerts.ts";
import { ThresholdInput } from "../alerts/model.ts";
import {
  createThreshold,
  deleteThreshold,
  getThreshold,
  listThresholds,
  updateThreshold,
} from "../alerts/thresholds.ts";
import { type AccessSettings, requireAdmin, requireReader } from "../auth/access.ts";
import type { Db } from "../db/client.ts";
import { limitBody, readJson, SMALL_BODY_BYTES } from "../http/body.ts";
import { jsonError, jsonResponse } from "../http/json.ts";
import { invalidParameters, parseOr400 } from "../http/validation.ts";
import { optionalParam, TimeParam } from "../queries/monitoring/window.ts";
import { NodeName } from "../wire/batch.ts";
import { Limit } from "./monitoring.ts";

export const ThresholdId = z.string().regex(/^[0-9a-f]{16}$/, "must be a threshold id (16 hex digits)");
export const ThresholdParams = z.object({ id: ThresholdId });

export const AlertQuery = z.strictObject({
  state: optionalParam(z.enum(["active", "resolved", "all"], { error: 'must be "active", "resolved" or "all"' })),
  node: optionalParam(NodeName),
  threshold: optionalParam(ThresholdId),
  since: optionalParam(TimeParam),
  limit: optionalParam(Limit),
});

export function alertRoutes(db: Db, { now, access }: { now: () => number; access: AccessSettings }): Hono {
  const routes = new Hono();
  const reader = requireReader(access);
  const admin = requireAdmin(access);
  const notFound = (id: string) => jsonError(404, `threshold '${id}' not found`);
  const found = (id: string, view: unknown) => (view === undefined ? notFound(id) : jsonResponse(view));

  routes.get("/thresholds", reader, async () => jsonResponse(await listThresholds(db)));

  routes.post("/thresholds", limitBody(SMALL_BODY_BYTES), admin, async (c) => {
    const body = await readJson(c);
    if (!body.ok) return body.response;
    const input = parseOr400(ThresholdInput, body.data, "invalid threshold");
    if (!input.ok) return input.response;
    return jsonResponse(await createThreshold(db, input.data, now()), 201);
  });

  routes.get("/thresholds/:id", reader, async (c) => {
    const params = parseOr400(ThresholdParams, c.req.param(), invalidParameters("path"));
    if (!params.ok) return params.response;
    return found(params.data.id, await getThreshold(db, params.data.id));
  });

  routes.put("/thresholds/:id", limitBody(SMALL_BODY_BYTES), admin, async (c) => {
    const params = parseOr400(ThresholdParams, c.req.param(), invalidParameters("path"));
    if (!params.ok) return params.response;
    const body = await readJson(c);
    if (!body.ok) return body.response;
    const input = parseOr400(ThresholdInput, body.data, "invalid threshold");
    if (!input.ok) return input.response;
    return found(params.data.id, await updateThreshold(db, params.data.id, input.data, now()));
  });

  routes.delete("/thresholds/:id", admin, async (c) => {
    const params = parseOr400(ThresholdParams, c.req.param(), invalidParameters("path"));
    if (!params.ok) return params.response;
    return found(params.data.id, await deleteThreshold(db, params.data.id, now()));
  });

  routes.get("/alerts", reader, async (c) => {
    const query = parseOr400(AlertQuery, c.req.query(), invalidParameters("query"));
    if (!query.ok) return query.response;
    const { state, node, threshold, since, limit } = query.data;
    const from = since === undefined ? undefined : "at" in since ? since.at : now() - since.ago;
    return jsonResponse(await listAlerts(db, { state, node, thresholdId: threshold, since: from, limit }));
  });

  return routes;
}
