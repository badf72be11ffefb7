// SPDX-License-Identifier: Apache-2.0
/**
 * The data-monitoring pages, read-protected like the overview, each with
 * the fragment htmx polls (the same path under /fragments, same query):
 *   /pods                    pods with RX/TX   ?q= &namespace= &node= &state= &sort= &dir= &offset=
 *   /pods/:namespace/:name   one pod           ?since=
 *   /servicemap              the service map   ?since= &namespace=
 * A bad name or parameter answers a 400 page in words, an unknown pod (or
 * one past its grace period) a 404 one; fragments answer the words alone,
 * which htmx swaps in (see HTMX_CONFIG in components/layout.tsx).
 */
import { type Context, Hono } from "hono";
import type { JSX } from "hono/jsx/jsx-runtime";
import { z } from "zod";
import { type AccessSettings, requireReader } from "../control/auth/access.ts";
import type { Db } from "../control/queries/handle.ts";
import type { Window } from "../control/monitoring/rollup.ts";
import type { MonitoringSettings } from "../control/monitoring-store/settings.ts";
import { desiredStateOf } from "../control/registry/desired-state.ts";
import { queryDnsView } from "../control/queries/monitoring/dns-view.ts";
import { queryDrops } from "../control/queries/monitoring/drops.ts";
import { podKeysNamed } from "../control/queries/monitoring/endpoints.ts";
import { DEFAULT_FLOW_LIMIT, queryFlows } from "../control/queries/monitoring/flows.ts";
import { findPod } from "../control/queries/monitoring/pods.ts";
import { queryPodList } from "../control/queries/monitoring/pod-list.ts";
import { queryServiceMap } from "../control/queries/monitoring/servicemap.ts";
import { queryTopTalkers } from "../control/queries/monitoring/toptalkers.ts";
import { NamespacedName } from "../control/routes/flow-params.ts";
import { DEFAULT_TALKERS } from "../control/routes/monitoring.ts";
import { queryTcp } from "../control/queries/monitoring/tcp.ts";
import { optionalParam } from "../control/queries/monitoring/window.ts";
import { Rfc1123Name } from "../control/wire/scalars.ts";
import { Layout, type Session, sessionOf } from "./components/layout.tsx";
import { denyPage } from "./deny.tsx";
import { formatSpan } from "./format.ts";
import { POD_PAGE_DNS_NAMES } from "./monitoring/dns-tables.tsx";
import { parsePodQuery } from "./monitoring/tables.tsx";
import { badParameterText, pageWindow, sinceParam } from "./page-params.ts";
import { PodDetail, type PodDetailView, PodPage } from "./pages/pod.tsx";
import { PodList, PODS_PATH, PodsPage, type PodsView } from "./pages/pods.tsx";
import { SERVICEMAP_PATH, ServiceMapDetail, ServiceMapPage, type ServiceMapView } from "./pages/servicemap.tsx";

export interface MonitoringPageOptions {
  now: () => number;
  access: AccessSettings;
  monitoring: MonitoringSettings;
}

/** What a page shows, or why it cannot (in words, for people). */
type Loaded<V> = { ok: true; view: V } | { ok: false; status: 400 | 404; title: string; message: string };

const refuse = (status: 400 | 404, title: string, message: string): Loaded<never> => ({
  ok: false,
  status,
  title,
  message,
});

const PodParams = z.object({ namespace: Rfc1123Name, name: Rfc1123Name });
const PodQuery = z.object({ since: sinceParam });
const MapQuery = z.object({
  since: sinceParam,
  namespace: optionalParam(Rfc1123Name),
  service: optionalParam(NamespacedName),
});

const badParameter = (error: z.ZodError): Loaded<never> => refuse(400, "Bad request", badParameterText(error));

export function monitoringPageRoutes(db: Db, { now, access, monitoring }: MonitoringPageOptions): Hono {
  const routes = new Hono();
  const reader = requireReader(access, denyPage);

  /** GET `path` (the whole page) and /fragments`path` (its polled part), both from `load`. */
  function pageAndFragment<V>(
    path: string,
    load: (c: Context, at: number) => Promise<Loaded<V>>,
    page: (view: V, session: Session) => JSX.Element,
    part: (view: V) => JSX.Element,
  ) {
    routes.get(path, reader, async (c) => {
      const [loaded, session] = await Promise.all([load(c, now()), sessionOf(c, access)]);
      if (loaded.ok) return c.html(page(loaded.view, session));
      return c.html(
        <Layout title={loaded.title} session={session}>
          <Refusal message={loaded.message} />
        </Layout>,
        loaded.status,
      );
    });
    routes.get(`/fragments${path}`, reader, async (c) => {
      const loaded = await load(c, now());
      return loaded.ok ? c.html(part(loaded.view)) : c.html(<Refusal message={loaded.message} />, loaded.status);
    });
  }

  /** The window ?since= asks for at `at` (the last 5 minutes without it). */
  function windowOf(
    raw: string | undefined,
    parsed: z.output<typeof sinceParam>,
    at: number,
  ): Loaded<{ since: string; window: Window }> {
    const w = pageWindow(raw, parsed, at, monitoring.retention);
    return w.ok ? { ok: true, view: { since: w.since, window: w.window } } : refuse(400, "Bad request", w.message);
  }

  pageAndFragment<PodsView>(
    PODS_PATH,
    async (c, at) => {
      const query = parsePodQuery(c.req.query());
      return { ok: true, view: { list: await queryPodList(db, at, monitoring.podGraceMs, query), query, now: at } };
    },
    (view, session) => <PodsPage view={view} session={session} />,
    (view) => <PodList view={view} />,
  );

  pageAndFragment<PodDetailView>(
    `${PODS_PATH}/:namespace/:name`,
    async (c, at) => {
      const params = PodParams.safeParse(c.req.param());
      if (!params.success) {
        return refuse(400, "Bad request", "Not a pod name: a namespace and a name, each a lowercase RFC 1123 name.");
      }
      const query = PodQuery.safeParse(c.req.query());
      if (!query.success) return badParameter(query.error);
      const w = windowOf(c.req.query("since"), query.data.since, at);
      if (!w.ok) return w;
      const { namespace, name } = params.data;
      const pod = await findPod(db, namespace, name, at, monitoring.podGraceMs);
      if (pod === undefined) {
        return refuse(
          404,
          "Pod not found",
          `No pod ${namespace}/${name} is listed: no node has reported it, or it vanished more than ` +
            `${formatSpan(monitoring.podGraceMs / 1000)} ago (vanished pods stay listed that long).`,
        );
      }
      const keys = await podKeysNamed(db, namespace, name);
      const filter = { pod: keys };
      const { window } = w.view;
      const [flows, tcp, drops, dns, desired] = await Promise.all([
        queryFlows(db, window, filter, DEFAULT_FLOW_LIMIT),
        queryTcp(db, window, filter, DEFAULT_FLOW_LIMIT),
        queryDrops(db, window, filter),
        queryDnsView(db, window, filter, POD_PAGE_DNS_NAMES, true),
        desiredStateOf(db, pod.node),
      ]);
      const dnsOff = desired.modules.dns ? [] : [pod.node];
      return {
        ok: true,
        view: {
          pod,
          ...w.view,
          flows,
          tcp,
          drops,
          dns,
          dnsOff,
          limit: DEFAULT_FLOW_LIMIT,
          now: at,
          graceMs: monitoring.podGraceMs,
        },
      };
    },
    (view, session) => <PodPage view={view} session={session} />,
    (view) => <PodDetail view={view} />,
  );

  pageAndFragment<ServiceMapView>(
    SERVICEMAP_PATH,
    async (c, at) => {
      const query = MapQuery.safeParse(c.req.query());
      if (!query.success) return badParameter(query.error);
      const w = windowOf(c.req.query("since"), query.data.since, at);
      if (!w.ok) return w;
      const { namespace, service } = query.data;
      const [map, talkers] = await Promise.all([
        queryServiceMap(db, w.view.window, { namespace, service }, { dns: true }),
        queryTopTalkers(db, w.view.window, "pods", DEFAULT_TALKERS),
      ]);
      return { ok: true, view: { map, talkers, ...w.view, namespace, service } };
    },
    (view, session) => <ServiceMapPage view={view} session={session} />,
    (view) => <ServiceMapDetail view={view} />,
  );

  return routes;
}

function Refusal(props: { message: string }) {
  return (
    <div class="empty">
      <p>{props.message}</p>
      <p>
        <a href={PODS_PATH}>All pods</a> · <a href={SERVICEMAP_PATH}>Service map</a>
      </p>
    </div>
  );
}
