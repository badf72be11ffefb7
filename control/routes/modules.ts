// SPDX-License-Identifier: Apache-2.0
/**
 * Desired state per node:
 *   GET /api/v1/nodes/:node/modules          → ModuleView[] { name, desired, state, error, pending } (read)
 *   PUT /api/v1/nodes/:node/modules/:module  { enabled: boolean } → DesiredState (admin): an override
 *   DELETE /api/v1/nodes/:node/modules/:module → DesiredState (admin): the override reset (the default again)
 *   GET /api/v1/module-defaults               → ModuleDefaultsView (read)
 *   PUT /api/v1/module-defaults  { modules: { <module>: boolean, … } } → ModuleDefaultsView (admin): the modules
 *     named change, the others keep theirs
 * Any valid node name is accepted, joined or not: switching a node before it
 * joins pre-provisions it (see control/registry/desired-state.ts).
 */
import { Hono } from "hono";
import { z } from "zod";
import { type AccessSettings, requireAdmin, requireReader } from "../auth/access.ts";
import type { Db } from "../db/client.ts";
import { limitBody, readJson, SMALL_BODY_BYTES } from "../http/body.ts";
import { jsonResponse } from "../http/json.ts";
import { parseOr400 } from "../http/validation.ts";
import { listModules } from "../queries/modules.ts";
import { moduleDefaultsOf, setModuleDefaults, switchModule } from "../registry/desired-state.ts";
import { type ModuleName, MODULES } from "../wire/batch.ts";
import { NodeModuleParams, NodeParams } from "./params.ts";

export const SwitchBody = z.strictObject({ enabled: z.boolean() });

export const ModuleDefaultsBody = z.strictObject({
  modules: z
    .strictObject(
      Object.fromEntries(MODULES.map((m) => [m, z.boolean().optional()])) as Record<
        ModuleName,
        z.ZodOptional<z.ZodBoolean>
      >,
    )
    .describe("The modules whose default changes; the others keep theirs"),
});

export function moduleRoutes(db: Db, { now, access }: { now: () => number; access: AccessSettings }): Hono {
  const routes = new Hono();

  routes.get("/nodes/:node/modules", requireReader(access), async (c) => {
    const params = parseOr400(NodeParams, c.req.param(), "invalid node name");
    if (!params.ok) return params.response;
    return jsonResponse(await listModules(db, params.data.node));
  });

  routes.put("/nodes/:node/modules/:module", limitBody(SMALL_BODY_BYTES), requireAdmin(access), async (c) => {
    const params = parseOr400(NodeModuleParams, c.req.param(), "invalid node or module");
    if (!params.ok) return params.response;
    const body = await readJson(c);
    if (!body.ok) return body.response;
    const change = parseOr400(SwitchBody, body.data, "invalid module switch");
    if (!change.ok) return change.response;
    const { node, module } = params.data;
    return jsonResponse(await switchModule(db, node, module, change.data.enabled, now()));
  });

  routes.delete("/nodes/:node/modules/:module", requireAdmin(access), async (c) => {
    const params = parseOr400(NodeModuleParams, c.req.param(), "invalid node or module");
    if (!params.ok) return params.response;
    return jsonResponse(await switchModule(db, params.data.node, params.data.module, undefined, now()));
  });

  routes.get("/module-defaults", requireReader(access), async () => jsonResponse(await moduleDefaultsOf(db)));

  routes.put("/module-defaults", limitBody(SMALL_BODY_BYTES), requireAdmin(access), async (c) => {
    const body = await readJson(c);
    if (!body.ok) return body.response;
    const change = parseOr400(ModuleDefaultsBody, body.data, "invalid module defaults");
    if (!change.ok) return change.response;
    return jsonResponse(await setModuleDefaults(db, change.data.modules, now()));
  });

  return routes;
}
