// SPDX-License-Identifier: Apache-2.0
/**
 * The browser side of the control plane: pages, the fragments htmx polls,
 * module switches, login, and static assets (held in memory, revalidated by ETag).
 */
import { type Context, Hono } from "hono";
import { etag } from "hono/etag";
import { z } from "zod";
import { type AccessSettings, callerOf, requireAdmin, requireReader } from "../control/auth/access.ts";
import type { Db } from "../control/queries/handle.ts";
import { limitBody, SMALL_BODY_BYTES } from "../control/http/body.ts";
import type { MonitoringSettings } from "../control/monitoring-store/settings.ts";
import { moduleViews } from "../control/queries/modules.ts";
import type { StatusThresholds } from "../control/queries/node-status.ts";
import { listAlerts } from "../control/alerts/alerts.ts";
import { nodeDetail } from "../control/queries/nodes.ts";
import { clusterOverview } from "../control/queries/overview.ts";
import { type IngestAdmission, recentShedding } from "../control/queries/ingest-load.ts";
import { desiredStateOf, overridesOf, switchModule } from "../control/registry/desired-state.ts";
import { NodeModuleParams, NodeParams } from "../control/routes/params.ts";
import { ASSET_PREFIX, type Assets, FAVICON_PATH, ICON_ASSET } from "./assets.ts";
import { Layout, loginPath, type Session, sessionOf } from "./components/layout.tsx";
import { NodeList, parseOverviewQuery } from "./components/node-list.tsx";
import { SheddingLine } from "./components/shedding.tsx";
import { LeaseLine } from "./components/lease-line.tsx";
import type { LeaseStatus } from "../control/lease/keeper.ts";
import { leaseView } from "../control/lease/status.ts";
import { denyPage, FLASH_ID, flashError } from "./deny.tsx";
import { alertPageRoutes } from "./alert-routes.tsx";
import { receiverPageRoutes } from "./notification-routes.tsx";
import { AlertBanner, AlertCount, ALERTS_LISTED, countByNode } from "./components/alerts.tsx";
import type { FlowStreamHub } from "../control/flows-stream/hub.ts";
import { flowLiveRoutes } from "./flow-live-routes.tsx";
import { flowPageRoutes } from "./flow-routes.tsx";
import { monitoringPageRoutes } from "./monitoring-routes.tsx";
import { loadNodeTraffic, recentDrops } from "./node-traffic.ts";
import { NodeDetailView, NodeListsView, NodeModulesView, NodePage, NodeTraffic, type NodeView } from "./pages/node.tsx";
import { NODES_FRAGMENT_PATH, OverviewPage } from "./pages/overview.tsx";
import { servicePageRoutes } from "./service-routes.tsx";
import { accelPageRoutes } from "./accel-routes.tsx";
import { apiPageRoutes } from "./api-routes.tsx";
import { sessionRoutes } from "./session-routes.tsx";
import { nodeLifecyclePageRoutes } from "./node-lifecycle-routes.tsx";

export interface WebOptions {
  now: () => number;
  assets: Assets;
  access: AccessSettings;
  thresholds: StatusThresholds;
  /** Failed logins per address (see sessionRoutes). */
  loginFailures: { ratePerSec: number; burst: number };
  /** Pod grace period and retention, for the monitoring pages. */
  monitoring: MonitoringSettings;
  /** This process's ingest admission: the overview says when it refused batches recently. */
  admission?: IngestAdmission;
  /** This replica's side of the lease (control/lease/); the overview says which replica runs the once-only work. */
  lease?: () => LeaseStatus;
  /** This replica's live flows, for the /flows page's live mode (web/flow-live-routes.tsx). */
  flowStream?: FlowStreamHub;
}

/** The switch form's field: "true" or "false", as HTML forms send it; "default": reset the override. */
const SwitchForm = z.object({
  enabled: z.enum(["true", "false", "default"]).transform((v) => (v === "default" ? undefined : v === "true")),
});

export function webRoutes(
  db: Db,
  { now, assets, access, thresholds, loginFailures, monitoring, admission, lease, flowStream }: WebOptions,
): Hono {
  const routes = new Hono();
  const reader = requireReader(access, denyPage);
  const admin = requireAdmin(access, denyPage);

  const session = (c: Context): Promise<Session> => sessionOf(c, access);

  /** What the overview and its fragment show; the URL is the one agents should use too. */
  const overview = async (c: Context) => {
    const at = now();
    const [cluster, alerts, replicas] = await Promise.all([
      clusterOverview(db, at, thresholds, parseOverviewQuery(c.req.query())),
      listAlerts(db, { state: "active", limit: ALERTS_LISTED }),
      leaseView(db, at, lease),
    ]);
    const perNode = countByNode(alerts);
    return {
      overview: cluster,
      controlUrl: new URL(c.req.url).origin,
      banner: <AlertBanner alerts={alerts} now={at} />,
      load: <SheddingLine shedding={recentShedding(admission, at)} now={at} />,
      status: <LeaseLine view={replicas} />,
      badge: (node: string) => <AlertCount node={node} count={perNode.get(node) ?? 0} />,
    };
  };

  /** Everything the node page shows; for a node that never reported, its switches alone. */
  const nodeView = async (c: Context, name: string): Promise<NodeView> => {
    const at = now();
    const [detail, { role }, alerts, drops] = await Promise.all([
      nodeDetail(db, name, at, thresholds),
      callerOf(c, access),
      listAlerts(db, { state: "active", node: name, limit: ALERTS_LISTED }),
      recentDrops(db, name, at, monitoring.retention),
    ]);
    const desired = detail?.desired ?? (await desiredStateOf(db, name));
    return {
      name,
      detail,
      desired,
      modules: detail?.modules ?? moduleViews(desired, await overridesOf(db, name), null),
      isAdmin: role === "admin",
      loginPath: loginPath(`/nodes/${encodeURIComponent(name)}`),
      alerts,
      now: at,
      thresholds,
      drops,
    };
  };

  const badNodeName = (c: Context) => c.html(<p>Not a node name (lowercase RFC 1123).</p>, 400);

  routes.route(
    "/",
    sessionRoutes({ now, access, failureRatePerSec: loginFailures.ratePerSec, failureBurst: loginFailures.burst }),
  );

  routes.route("/", monitoringPageRoutes(db, { now, access, monitoring }));
  if (flowStream) routes.route("/", flowLiveRoutes(flowStream, { access }));
  routes.route("/", flowPageRoutes(db, { now, access, monitoring }));
  routes.route("/", alertPageRoutes(db, { now, access }));
  routes.route("/", receiverPageRoutes(db, { now, access }));
  routes.route(
    "/",
    servicePageRoutes(db, { now, access, lostAfterMs: thresholds.lostAfterMs, retention: monitoring.retention }),
  );
  routes.route("/", accelPageRoutes(db, { now, access }));
  routes.route("/", apiPageRoutes({ access }));
  routes.route("/", nodeLifecyclePageRoutes(db, { now, access }));

  routes.get("/", reader, async (c) => c.html(<OverviewPage {...await overview(c)} session={await session(c)} />));
  routes.get(NODES_FRAGMENT_PATH, reader, async (c) => c.html(<NodeList {...await overview(c)} />));

  routes.get("/nodes/:node", reader, async (c) => {
    const params = NodeParams.safeParse(c.req.param());
    if (!params.success) return badNodeName(c);
    const { node } = params.data;
    const [view, traffic, who] = await Promise.all([
      nodeView(c, node),
      loadNodeTraffic(db, node, c.req.query(), now(), monitoring.retention),
      session(c),
    ]);
    if (!traffic.ok) {
      return c.html(
        <Layout title="Bad request" session={who}>
          <p class="error-text">{traffic.message}</p>
        </Layout>,
        400,
      );
    }
    return c.html(<NodePage view={view} traffic={traffic.view} session={who} />);
  });

  routes.get("/fragments/nodes/:node", reader, async (c) => {
    const params = NodeParams.safeParse(c.req.param());
    if (!params.success) return badNodeName(c);
    return c.html(<NodeDetailView view={await nodeView(c, params.data.node)} />);
  });

  routes.get("/fragments/nodes/:node/modules", reader, async (c) => {
    const params = NodeParams.safeParse(c.req.param());
    if (!params.success) return badNodeName(c);
    return c.html(<NodeModulesView view={await nodeView(c, params.data.node)} />);
  });

  routes.get("/fragments/nodes/:node/lists", reader, async (c) => {
    const params = NodeParams.safeParse(c.req.param());
    if (!params.success) return badNodeName(c);
    const detail = await nodeDetail(db, params.data.node, now(), thresholds);
    return detail === undefined
      ? c.html(<p class="none">This node has not reported yet.</p>)
      : c.html(<NodeListsView detail={detail} />);
  });

  routes.get("/fragments/nodes/:node/traffic", reader, async (c) => {
    const params = NodeParams.safeParse(c.req.param());
    if (!params.success) return badNodeName(c);
    const traffic = await loadNodeTraffic(db, params.data.node, c.req.query(), now(), monitoring.retention);
    return traffic.ok ? c.html(<NodeTraffic view={traffic.view} />) : c.html(<p>{traffic.message}</p>, 400);
  });

  // The htmx switch: answers with the refreshed modules region plus a line
  // saying what happened, swapped out of band into #flash.
  routes.post("/nodes/:node/modules/:module", limitBody(SMALL_BODY_BYTES, "form"), admin, async (c) => {
    const params = NodeModuleParams.safeParse(c.req.param());
    if (!params.success) return flashError(c, "No such node name or module.", 404);
    const form = SwitchForm.safeParse(await c.req.parseBody());
    if (!form.success) return flashError(c, "The switch must send enabled=true, enabled=false or enabled=default.");
    const { node, module } = params.data;
    const enabled = form.data.enabled;
    const desired = await switchModule(db, node, module, enabled, now());
    return c.html(
      <>
        <NodeModulesView view={await nodeView(c, node)} />
        <p id={FLASH_ID} class="flash" role="status" hx-swap-oob="true">
          {module} is now {desired.modules[module] ? "on" : "off"}
          {enabled === undefined ? " (the cluster default)" : ""} for {node} (desired state version{" "}
          {desired.version}); its agent applies it within one interval.
        </p>
      </>,
    );
  });

  const serveAsset = (c: Context, name: string) => {
    // Only names in the asset map are served, so no path can escape it.
    const asset = assets.get(name);
    if (asset === undefined) return c.notFound();
    return c.body(asset.body, 200, { "content-type": asset.contentType, "cache-control": "no-cache" });
  };
  routes.get(`${ASSET_PREFIX}:name`, etag(), (c) => serveAsset(c, c.req.param("name")));
  // The pages link the SVG icon; a browser may still ask for /favicon.ico on its own, and gets it rather than a 404.
  routes.get(FAVICON_PATH, etag(), (c) => serveAsset(c, ICON_ASSET));

  return routes;
}
