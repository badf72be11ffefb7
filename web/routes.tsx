/**
 * The browser side of the control plane: pages, the fragments htmx polls, and
 * static assets (held in memory, revalidated by ETag).
 */
import { Hono, type Context } from "hono";
import { etag } from "hono/etag";
import type { Db } from "../control/db/client.ts";
import { listOverview } from "../control/queries/nodes.ts";
import { ASSET_PREFIX, type Assets } from "./assets.ts";
import { NodeList } from "./components/node-list.tsx";
import { NODES_FRAGMENT_PATH, OverviewPage } from "./pages/overview.tsx";

export interface WebOptions {
  now: () => number;
  assets: Assets;
}

export function webRoutes(db: Db, { now, assets }: WebOptions): Hono {
  const routes = new Hono();

  /** What the overview and its fragment show; the URL is the one agents should use too. */
  const overview = async (c: Context) => ({
    nodes: await listOverview(db, now()),
    controlUrl: new URL(c.req.url).origin,
  });

  routes.get("/", async (c) => c.html(<OverviewPage {...await overview(c)} />));
  routes.get(NODES_FRAGMENT_PATH, async (c) => c.html(<NodeList {...await overview(c)} />));

  routes.get(`${ASSET_PREFIX}:name`, etag(), (c) => {
    // Only names in the asset map are served, so no path can escape it.
    const asset = assets.get(c.req.param("name"));
    if (asset === undefined) return c.notFound();
    return c.body(asset.body, 200, { "content-type": asset.contentType, "cache-control": "no-cache" });
  });

  return routes;
}
