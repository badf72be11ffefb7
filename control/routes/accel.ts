// SPDX-License-Identifier: Apache-2.0
/**
 * Socket acceleration rules (reads open or token-protected; writes admin only):
 *   GET    /api/v1/accel/rules?since=    → { rules: [{ rule, connections, bytes }], window: { since } }
 *   GET    /api/v1/accel/rules/:id       → { rule, connections, bytes }; 404
 *   POST   /api/v1/accel/rules           AccelRuleInput → 201 AccelRule
 *   PUT    /api/v1/accel/rules/:id       AccelRuleInput → AccelRule; 404
 *   DELETE /api/v1/accel/rules/:id       → AccelRule (as it was); 404
 * 400 names the bad field; 409 `{ conflict: "full" }` when no id is free.
 * `since` (ISO 8601 or a duration back, default 1h) starts the counters' window.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { createRule, deleteRule, replaceRule, RulesFull, ruleViews } from "../accel/rules.ts";
import { type AccessSettings, requireAdmin, requireReader } from "../auth/access.ts";
import type { Db } from "../db/client.ts";
import { limitBody, readJson, SMALL_BODY_BYTES } from "../http/body.ts";
import { jsonError, jsonResponse } from "../http/json.ts";
import { invalidParameters, parseOr400 } from "../http/validation.ts";
import { optionalParam, TimeParam, type TimeSpec } from "../queries/monitoring/window.ts";
import { ACCEL_MAX_RULES, AccelRuleInput } from "../wire/accel.ts";

export const IdParams = z.object({ id: z.coerce.number().int().min(1).max(ACCEL_MAX_RULES) });
export const ViewQuery = z.strictObject({ since: optionalParam(TimeParam) });
const HOUR = 3_600_000;

export function accelRoutes(db: Db, { now, access }: { now: () => number; access: AccessSettings }): Hono {
  const routes = new Hono();
  const reader = requireReader(access);
  const admin = requireAdmin(access);
  const body = limitBody(SMALL_BODY_BYTES);

  async function input(c: Context) {
    const json = await readJson(c);
    if (!json.ok) return json;
    return parseOr400(AccelRuleInput, json.data, "invalid acceleration rule");
  }

  routes.get("/accel/rules", reader, async (c) => {
    const query = parseOr400(ViewQuery, c.req.query(), invalidParameters("query"));
    if (!query.ok) return query.response;
    const since = sinceMs(query.data.since, now());
    return jsonResponse({ rules: await ruleViews(db, since), window: { since: new Date(since).toISOString() } });
  });

  routes.get("/accel/rules/:id", reader, async (c) => {
    const params = parseOr400(IdParams, c.req.param(), invalidParameters("path"));
    if (!params.ok) return params.response;
    const view = (await ruleViews(db, now() - HOUR)).find((v) => v.rule.id === params.data.id);
    return view ? jsonResponse(view) : jsonError(404, `no acceleration rule ${params.data.id}`);
  });

  routes.post("/accel/rules", body, admin, async (c) => {
    const rule = await input(c);
    if (!rule.ok) return rule.response;
    try {
      return jsonResponse(await createRule(db, rule.data, now()), 201);
    } catch (e) {
      if (e instanceof RulesFull) return jsonError(409, e.message, { conflict: "full" });
      throw e;
    }
  });

  routes.put("/accel/rules/:id", body, admin, async (c) => {
    const params = parseOr400(IdParams, c.req.param(), invalidParameters("path"));
    if (!params.ok) return params.response;
    const rule = await input(c);
    if (!rule.ok) return rule.response;
    const done = await replaceRule(db, params.data.id, rule.data, now());
    return done ? jsonResponse(done) : jsonError(404, `no acceleration rule ${params.data.id}`);
  });

  routes.delete("/accel/rules/:id", admin, async (c) => {
    const params = parseOr400(IdParams, c.req.param(), invalidParameters("path"));
    if (!params.ok) return params.response;
    const done = await deleteRule(db, params.data.id, now());
    return done ? jsonResponse(done) : jsonError(404, `no acceleration rule ${params.data.id}`);
  });

  return routes;
}

function sinceMs(spec: TimeSpec | undefined, now: number): number {
  if (spec === undefined) return now - HOUR;
  return "at" in spec ? spec.at : now - spec.ago;
}
