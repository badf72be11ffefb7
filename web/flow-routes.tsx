// SPDX-License-Identifier: Apache-2.0
/**
 * The flow explorer's page, read-protected like the other monitoring pages:
 *   GET /flows             the page (web/pages/flows.tsx)   ?node= &namespace= &pod= &service= &port= &protocol=
 *   GET /fragments/flows   its results, for htmx             &failures= &sort= &order= &limit= &offset= &since=
 * The same parameters and values as GET /api/v1/flows (control/routes/
 * flow-params.ts), `since` as the other pages take it, FLOW_PAGE_SIZE rows a
 * page by default. A bad value answers a 400 page in words (the fragment:
 * the words alone, which htmx swaps in). An unknown pod, service, namespace
 * or node matches no flow: the page says so rather than refusing.
 *
 * The fragment's answer to a change (a filter, a sort, a page) pushes the
 * page's URL (HX-Push-Url), so the address bar, reloads and history follow
 * the view, and replaces the controls outside the results that carry the
 * view (window links, the form's hidden fields, "Follow live") out of band;
 * its answer to the results' own poll does neither.
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { type AccessSettings, requireReader } from "../control/auth/access.ts";
import type { MonitoringSettings } from "../control/monitoring-store/settings.ts";
import type { Db } from "../control/queries/handle.ts";
import { podKeysNamed } from "../control/queries/monitoring/endpoints.ts";
import { queryFlowExplorer } from "../control/queries/monitoring/flow-explorer.ts";
import { explorerFilter, explorerPage, FLOW_QUERY_FIELDS } from "../control/routes/flow-params.ts";
import { Layout, sessionOf } from "./components/layout.tsx";
import { LiveButton, LiveToggle } from "./flow-live-routes.tsx";
import { denyPage } from "./deny.tsx";
import { badParameterText, pageWindow, sinceParam } from "./page-params.ts";
import {
  FLOW_PAGE_SIZE,
  FLOW_RESULTS_ID,
  FlowFilterState,
  flowParamsOf,
  FlowResults,
  FLOWS_FRAGMENT_PATH,
  FLOWS_PATH,
  FlowsPage,
  flowsUrl,
  type FlowsView,
  FlowWindowLinks,
} from "./pages/flows.tsx";

export interface FlowPageOptions {
  now: () => number;
  access: AccessSettings;
  monitoring: MonitoringSettings;
}

const FlowPageQuery = z.object({ ...FLOW_QUERY_FIELDS, since: sinceParam });

type Loaded = { ok: true; view: FlowsView } | { ok: false; message: string };

export function flowPageRoutes(db: Db, { now, access, monitoring }: FlowPageOptions): Hono {
  const routes = new Hono();
  const reader = requireReader(access, denyPage);

  async function load(c: Context): Promise<Loaded> {
    const parsed = FlowPageQuery.safeParse(c.req.query());
    if (!parsed.success) return { ok: false, message: badParameterText(parsed.error) };
    const q = parsed.data;
    const w = pageWindow(c.req.query("since"), q.since, now(), monitoring.retention);
    if (!w.ok) return { ok: false, message: w.message };
    const pod = q.pod === undefined ? undefined : await podKeysNamed(db, q.pod.namespace, q.pod.name);
    const page = { ...explorerPage(q), limit: q.limit ?? FLOW_PAGE_SIZE };
    const result = await queryFlowExplorer(db, w.window, { ...explorerFilter(q), pod }, page);
    return {
      ok: true,
      view: { params: flowParamsOf(c.req.query()), page, since: w.since, window: w.window, result },
    };
  }

  routes.get(FLOWS_PATH, reader, async (c) => {
    const [loaded, session] = await Promise.all([load(c), sessionOf(c, access)]);
    if (loaded.ok) {
      return c.html(
        <FlowsPage view={loaded.view} session={session} live={<LiveToggle params={loaded.view.params} />} />,
      );
    }
    return c.html(
      <Layout title="Bad request" session={session}>
        <Refusal message={loaded.message} />
      </Layout>,
      400,
    );
  });

  routes.get(FLOWS_FRAGMENT_PATH, reader, async (c) => {
    const loaded = await load(c);
    if (!loaded.ok) return c.html(<Refusal message={loaded.message} />, 400);
    const { view } = loaded;
    if (c.req.header("hx-trigger") === FLOW_RESULTS_ID) return c.html(<FlowResults view={view} />);
    // A change: the page's URL follows, and so do the controls outside the results (out of band).
    return c.html(
      <>
        <FlowResults view={view} />
        <FlowWindowLinks params={view.params} since={view.since} oob />
        <FlowFilterState params={view.params} oob />
        <LiveButton params={view.params} oob />
      </>,
      200,
      { "HX-Push-Url": flowsUrl(FLOWS_PATH, view.params) },
    );
  });

  return routes;
}

/** The words of a refusal, in the results' place (so a fragment's answer replaces the results). */
function Refusal(props: { message: string }) {
  return (
    <section class="panel" id={FLOW_RESULTS_ID}>
      <p class="none">
        {props.message} <a href={FLOWS_PATH}>All flows</a>
      </p>
    </section>
  );
}
