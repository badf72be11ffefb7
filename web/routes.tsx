/**
 * The browser side of the control plane: pages, the fragments htmx polls,
 * module switches, login, and static assets (held in memory, revalidated by ETag).
 */
import { Hono, type Context } from "hono";
import { etag } from "hono/etag";
import { z } from "zod";
import { callerOf, requireAdmin, requireReader, type AccessSettings } from "../control/auth/access.ts";
import type { Db } from "../control/db/client.ts";
import { limitBody, SMALL_BODY_BYTES } from "../control/http/body.ts";
import type { MonitoringSettings } from "../control/monitoring-store/settings.ts";
import { moduleViews } from "../control/queries/modules.ts";
import type { StatusThresholds } from "../control/queries/node-status.ts";
import { listOverview, nodeDetail } from "../control/queries/nodes.ts";
import { desiredStateOf, switchModule } from "../control/registry/desired-state.ts";
import { NodeModuleParams, NodeParams } from "../control/routes/params.ts";
import { ASSET_PREFIX, type Assets } from "./assets.ts";
import { loginPath, sessionOf, type Session } from "./components/layout.tsx";
import { NodeList } from "./components/node-list.tsx";
import { denyPage, FLASH_ID, flashError } from "./deny.tsx";
import { monitoringPageRoutes } from "./monitoring-routes.tsx";
import { NodeDetailView, NodePage, type NodeView } from "./pages/node.tsx";
import { NODES_FRAGMENT_PATH, OverviewPage } from "./pages/overview.tsx";
import { sessionRoutes } from "./session-routes.tsx";

export interface WebOptions {
  now: () => number;
  assets: Assets;
  access: AccessSettings;
  thresholds: StatusThresholds;
  /** Failed logins per address (see sessionRoutes). */
  loginFailures: { ratePerSec: number; burst: number };
  /** Pod grace period and retention, for the monitoring pages. */
  monitoring: MonitoringSettings;
}

/** The switch form's field: "true" or "false", as HTML forms send it. */
const SwitchForm = z.object({ enabled: z.enum(["true", "false"]).transform((v) => v === "true") });

export function webRoutes(db: Db, { now, assets, access, thresholds, loginFailures, monitoring }: WebOptions): Hono {
  const routes = new Hono();
  const reader = requireReader(access, denyPage);
  const admin = requireAdmin(access, denyPage);

  const session = (c: Context): Promise<Session> => sessionOf(c, access);

  /** What the overview and its fragment show; the URL is the one agents should use too. */
  const overview = async (c: Context) => ({
    nodes: await listOverview(db, now(), thresholds),
    controlUrl: new URL(c.req.url).origin,
  });

  /** Everything the node page shows; for a node that never reported, its switches alone. */
  const nodeView = async (c: Context, name: string): Promise<NodeView> => {
    const [detail, { role }] = await Promise.all([nodeDetail(db, name, now(), thresholds), callerOf(c, access)]);
    const desired = detail?.desired ?? (await desiredStateOf(db, name));
    return {
      name,
      detail,
      desired,
      modules: detail?.modules ?? moduleViews(desired, null),
      isAdmin: role === "admin",
      loginPath: loginPath(`/nodes/${encodeURIComponent(name)}`),
    };
  };

  const badNodeName = (c: Context) => c.html(<p>Not a node name (lowercase RFC 1123).</p>, 400);

  routes.route(
    "/",
    sessionRoutes({ now, access, failureRatePerSec: loginFailures.ratePerSec, failureBurst: loginFailures.burst }),
  );

  routes.route("/", monitoringPageRoutes(db, { now, access, monitoring }));

  routes.get("/", reader, async (c) => c.html(<OverviewPage {...await overview(c)} session={await session(c)} />));
  routes.get(NODES_FRAGMENT_PATH, reader, async (c) => c.html(<NodeList {...await overview(c)} />));

  routes.get("/nodes/:node", reader, async (c) => {
    const params = NodeParams.safeParse(c.req.param());
    if (!params.success) return badNodeName(c);
    return c.html(<NodePage view={await nodeView(c, params.data.node)} session={await session(c)} />);
  });

  routes.get("/fragments/nodes/:node", reader, async (c) => {
    const params = NodeParams.safeParse(c.req.param());
    if (!params.success) return badNodeName(c);
    return c.html(<NodeDetailView view={await nodeView(c, params.data.node)} />);
  });

  // The htmx switch: answers with the refreshed node detail plus a line
  // saying what happened, swapped out of band into #flash.
  routes.post("/nodes/:node/modules/:module", limitBody(SMALL_BODY_BYTES, "form"), admin, async (c) => {
    const params = NodeModuleParams.safeParse(c.req.param());
    if (!params.success) return flashError(c, "No such node name or module.", 404);
    const form = SwitchForm.safeParse(await c.req.parseBody());
    if (!form.success) return flashError(c, 'The switch must send enabled=true or enabled=false.');
    const { node, module } = params.data;
    const enabled = form.data.enabled;
    const desired = await switchModule(db, node, module, enabled, now());
    return c.html(
      <>
        <NodeDetailView view={await nodeView(c, node)} />
        <p id={FLASH_ID} class="flash" role="status" hx-swap-oob="true">
          {module} is now {enabled ? "on" : "off"} for {node} (desired state version {desired.version}); its agent
          applies it within one interval.
        </p>
      </>,
    );
  });

  routes.get(`${ASSET_PREFIX}:name`, etag(), (c) => {
    // Only names in the asset map are served, so no path can escape it.
    const asset = assets.get(c.req.param("name"));
    if (asset === undefined) return c.notFound();
    return c.body(asset.body, 200, { "content-type": asset.contentType, "cache-control": "no-cache" });
  });

  return routes;
}
