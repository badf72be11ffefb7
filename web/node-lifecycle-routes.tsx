// SPDX-License-Identifier: Apache-2.0
/**
 * Nodes that come and go, in the browser (docs/nodes.md):
 *   POST /nodes/:node/delete   admin; deletes the node (control/registry/node-removal.ts): htmx is sent to the
 *                              overview (HX-Redirect), a plain form post redirected there; 404 in #flash when unknown
 *   GET  /module-defaults      read-protected like the other pages: the cluster-wide module defaults
 *   POST /module-defaults      admin; a form field per module ("on"/"off"): the defaults that differ change; htmx
 *                              gets the form back and a line in #flash
 * A node page's switches and resets of overrides are web/routes.tsx's (POST /nodes/:node/modules/:module).
 */
import { Hono } from "hono";
import { z } from "zod";
import { type AccessSettings, callerOf, requireAdmin, requireReader } from "../control/auth/access.ts";
import { limitBody, SMALL_BODY_BYTES } from "../control/http/body.ts";
import type { Db } from "../control/queries/handle.ts";
import { moduleDefaultsOf, type ModuleValues, setModuleDefaults } from "../control/registry/desired-state.ts";
import { deleteNode } from "../control/registry/node-removal.ts";
import { NodeParams } from "../control/routes/params.ts";
import { MODULES } from "../control/wire/batch.ts";
import { sessionOf } from "./components/layout.tsx";
import { MODULE_DEFAULTS_PATH } from "./components/module-table.tsx";
import { denyPage, FLASH_ID, flashError } from "./deny.tsx";
import { ModuleDefaultsForm, ModuleDefaultsPage } from "./pages/module-defaults.tsx";

/** The defaults form: "on" or "off" per module; a module left out keeps its default. */
const DefaultsForm = z.strictObject(
  Object.fromEntries(MODULES.map((m) => [m, z.enum(["on", "off"]).optional()])) as Record<
    (typeof MODULES)[number],
    z.ZodOptional<z.ZodEnum<{ on: "on"; off: "off" }>>
  >,
);

export function nodeLifecyclePageRoutes(db: Db, { now, access }: { now: () => number; access: AccessSettings }) {
  const routes = new Hono();
  const admin = requireAdmin(access, denyPage);

  routes.post("/nodes/:node/delete", limitBody(SMALL_BODY_BYTES, "form"), admin, async (c) => {
    const params = NodeParams.safeParse(c.req.param());
    if (!params.success) return flashError(c, "Not a node name (lowercase RFC 1123).", 400);
    const { node } = params.data;
    if (!(await deleteNode(db, node, now()))) {
      return flashError(c, `Node ${node} is not known (deleted already?).`, 404);
    }
    return c.req.header("hx-request") === "true" ? c.body(null, 200, { "HX-Redirect": "/" }) : c.redirect("/", 303);
  });

  routes.get(MODULE_DEFAULTS_PATH, requireReader(access, denyPage), async (c) => {
    const [view, { role }, session] = await Promise.all([
      moduleDefaultsOf(db),
      callerOf(c, access),
      sessionOf(c, access),
    ]);
    return c.html(<ModuleDefaultsPage view={view} isAdmin={role === "admin"} session={session} />);
  });

  routes.post(MODULE_DEFAULTS_PATH, limitBody(SMALL_BODY_BYTES, "form"), admin, async (c) => {
    const form = DefaultsForm.safeParse(await c.req.parseBody());
    if (!form.success) return flashError(c, `Each module's default must be "on" or "off" (${MODULES.join(", ")}).`);
    const current = await moduleDefaultsOf(db);
    const changes: ModuleValues = {};
    for (const m of MODULES) {
      const value = form.data[m];
      if (value !== undefined && (value === "on") !== current.modules[m]) changes[m] = value === "on";
    }
    const view = await setModuleDefaults(db, changes, now());
    const named = Object.entries(changes).map(([m, on]) => `${m} ${on ? "on" : "off"}`);
    return c.html(
      <>
        <ModuleDefaultsForm view={view} isAdmin />
        <p id={FLASH_ID} class="flash" role="status" hx-swap-oob="true">
          {named.length === 0
            ? "Nothing changed."
            : `Defaults changed: ${
              named.join(", ")
            } (desired state version ${view.version}); every node that follows them applies it within one interval.`}
        </p>
      </>,
    );
  });

  return routes;
}
