// SPDX-License-Identifier: Apache-2.0
/**
 * `/services`: every load-balanced service (one row per frontend) with its
 * backends, connections over the window (?since=, 1 h by default) and how
 * many nodes run its latest version, refreshed in place from
 * /fragments/services; the nodes polling for services; and for an admin the
 * form that creates one, or (?edit=namespace/name/port) changes one.
 */
import { SERVICE_STATES, type ServiceListQuery, type ServiceState } from "../../control/queries/service-list.ts";
import type { ListPage } from "../../control/queries/list-page.ts";
import type { ServicesView, ServiceView } from "../../control/services/views.ts";
import { Layout, type Session } from "../components/layout.tsx";
import { ListFilter, ListPager, offsetParam } from "../components/list-nav.tsx";
import { Live, LIVE_HINT } from "../components/live.tsx";
import { Panel } from "../components/panel.tsx";
import { ServiceForm, type ServiceFormState, servicePath, SERVICES_PATH } from "../components/service-form.tsx";
import { WindowLinks, windowStart } from "../components/window-links.tsx";
import { FLASH_ID } from "../deny.tsx";
import { formatAgo, formatCount, formatCountOf, MISSING } from "../format.ts";

export const SERVICES_FRAGMENT_PATH = "/fragments/services";
export const SERVICE_LIST_ID = "services";
/** The counters' window when ?since= is absent (the API's default too). */
export const DEFAULT_SERVICE_SINCE = "1h";

export interface ServicesPageView {
  /** `services`: the page's (filtered, paged). */
  view: ServicesView;
  query: ServiceListQuery;
  page: Omit<ListPage<ServiceView>, "rows">;
  /** ?since= as asked (DEFAULT_SERVICE_SINCE when absent). */
  since: string;
  now: number;
  isAdmin: boolean;
  loginPath: string;
}

const withSince = (path: string, since: string) => `${path}?since=${encodeURIComponent(since)}`;

/** ?namespace= &q= &state= &offset= as the list takes them; anything unknown is no filter. */
export function parseServiceQuery(get: (k: string) => string | undefined): ServiceListQuery {
  const text = (k: string) => get(k)?.trim() || undefined;
  const state = (SERVICE_STATES as readonly string[]).includes(text("state") ?? "")
    ? (text("state") as ServiceState)
    : undefined;
  return { namespace: text("namespace"), q: text("q"), state, offset: offsetParam(text) };
}

/** The list's URL at `path` for a window and a view: the filters and the page (none for the first). */
export function servicesUrl(path: string, since: string, query: ServiceListQuery): string {
  const p = new URLSearchParams({ since });
  for (const k of ["namespace", "q", "state"] as const) if (query[k]) p.set(k, query[k]!);
  if (query.offset > 0) p.set("offset", String(query.offset));
  return `${path}?${p.toString()}`;
}

const filtered = (q: ServiceListQuery) => Boolean(q.namespace || q.q || q.state);

/** The filter form: a GET of the page (from its first page), keeping the window; the list's region swapped in place. */
function ServiceFilter(props: { query: ServiceListQuery; since: string }) {
  const { query } = props;
  return (
    <ListFilter action={SERVICES_PATH} region={SERVICE_LIST_ID}>
      <input type="search" name="q" value={query.q ?? ""} placeholder="name" aria-label="name" />
      <input
        type="text"
        name="namespace"
        value={query.namespace ?? ""}
        placeholder="namespace"
        aria-label="namespace"
      />
      <select name="state" aria-label="state">
        <option value="" selected={!query.state}>any state</option>
        {SERVICE_STATES.map((st) => <option value={st} selected={query.state === st}>{st}</option>)}
      </select>
      <input type="hidden" name="since" value={props.since} />
    </ListFilter>
  );
}

export function ServicesPage(props: { page: ServicesPageView; form: ServiceFormState; session: Session }) {
  const { page } = props;
  return (
    <Layout title="Services" hint={LIVE_HINT} session={props.session}>
      <p id={FLASH_ID} class="flash" role="status"></p>
      <WindowLinks since={page.since} href={(s) => servicesUrl(SERVICES_PATH, s, { ...page.query, offset: 0 })} />
      <ServiceFilter query={page.query} since={page.since} />
      <Live id={SERVICE_LIST_ID} src={servicesUrl(SERVICES_FRAGMENT_PATH, page.since, page.query)}>
        <ServiceList page={page} />
      </Live>
      {page.isAdmin ? <ServiceForm state={props.form} /> : (
        <p class="note">
          Creating services and changing their backends needs the admin token: <a href={page.loginPath}>log in</a>{" "}
          with it.
        </p>
      )}
    </Layout>
  );
}

/** The polled part: the services, then the nodes. */
export function ServiceList(props: { page: ServicesPageView }) {
  const { view, since, now, query, page } = props.page;
  const { services } = view;
  return (
    <>
      {page.total === 0
        ? (filtered(query)
          ? (
            <p class="none">
              No service matches this filter. <a href={withSince(SERVICES_PATH, since)}>Show all services</a>
            </p>
          )
          : (
            <div class="empty">
              <p>
                No services yet. A service is a virtual IP and port (TCP or UDP) that the nodes' eBPF programs
                translate, when a pod connects, into one of its backends, so no packet is rewritten on the way.
              </p>
              <p>
                Services come from Kubernetes Services and EndpointSlices when the control plane runs in a cluster; an
                admin can also create them here or through POST /api/v1/services.
              </p>
            </div>
          ))
        : (
          <Panel
            title={formatCountOf(page.total, "service")}
            meta={`connections since ${windowStart(since)} · version ${formatCount(view.version)}`}
          >
            <table class="services">
              <thead>
                <tr>
                  <th>Service</th>
                  <th>Port</th>
                  <th>Frontend</th>
                  <th>Affinity</th>
                  <th>Backends</th>
                  <th>Connections</th>
                  <th>Nodes in sync</th>
                </tr>
              </thead>
              <tbody>
                {services.map((s) => <ServiceRow service={s} since={since} />)}
              </tbody>
            </table>
            <ListPager
              page={{ ...page, shown: services.length }}
              href={(offset) => servicesUrl(SERVICES_PATH, since, { ...query, offset })}
              region={SERVICE_LIST_ID}
            />
          </Panel>
        )}
      <NodeSyncPanel view={view} now={now} />
    </>
  );
}

function ServiceRow(props: { service: ServiceView; since: string }) {
  const s = props.service;
  const total = s.backends.length;
  return (
    <tr id={`service-${s.id}`}>
      <td>
        <a href={withSince(servicePath(s), props.since)}>
          {s.namespace}/{s.name}
        </a>
        {s.source === "kubernetes" && <span class="sub">from Kubernetes</span>}
      </td>
      <td>{s.portName === "" ? <span class="na">{MISSING}</span> : s.portName}</td>
      <td>
        <code>{frontendText(s)}</code>
        {externalText(s) && <span class="sub">{s.type}: {externalText(s)}</span>}
      </td>
      <td>{affinityText(s)}</td>
      <td class={s.health.active === 0 ? "bad" : undefined}>
        {formatCount(s.health.active)} / {formatCount(total)} active
        {s.health.active === 0 && (
          <span class="sub">{total === 0 ? "no backends: refused" : "none usable: refused"}</span>
        )}
      </td>
      <td class={s.refused > 0 ? "bad" : undefined}>
        {formatCount(s.connections)}
        {s.refused > 0 && <span class="sub">{formatCount(s.refused)} refused</span>}
      </td>
      <td>
        <SyncCell nodes={s.health.nodes} />
      </td>
    </tr>
  );
}

export const frontendText = (s: Pick<ServiceView, "vip" | "port" | "protocol">) => `${s.vip}:${s.port}/${s.protocol}`;

/** Where it is reached from outside through the gateway: "203.0.113.7:80, any node :30080"; "" for none. */
export function externalText(s: Pick<ServiceView, "port" | "type" | "nodePort" | "externalIPs">): string {
  const parts = s.externalIPs.map((ip) => `${ip}:${s.port}`);
  if (s.type !== "ClusterIP" && s.nodePort !== undefined) parts.push(`any node :${s.nodePort}`);
  return parts.join(", ");
}

/** "none", or "client, 3 h": a client keeps its backend this long. */
export function affinityText(s: Pick<ServiceView, "affinity" | "affinityTimeoutS">): string {
  if (s.affinity === "none") return "none";
  const t = s.affinityTimeoutS;
  const span = t % 3600 === 0 ? `${t / 3600} h` : t % 60 === 0 ? `${t / 60} min` : `${t} s`;
  return `client, ${span}`;
}

/** "2 of 3", marked while some node still runs an older version. */
export function SyncCell(props: { nodes: { inSync: number; total: number } }) {
  const { inSync, total } = props.nodes;
  if (total === 0) return <span class="na">no node polling</span>;
  return (
    <span class={inSync === total ? "state state-on" : "state state-vanished"}>
      {`${formatCount(inSync)} of ${formatCount(total)}`}
    </span>
  );
}

/** Which version each node runs. */
function NodeSyncPanel(props: { view: ServicesView; now: number }) {
  const { nodes, version } = props.view;
  if (nodes.length === 0) {
    return (
      <p class="note">
        No node is polling for services: no agent runs with its lb module on, or none has reached the control plane
        lately.
      </p>
    );
  }
  const behind = nodes.filter((n) => !n.inSync).length;
  return (
    <Panel
      title="Nodes"
      meta={behind === 0
        ? `all run version ${formatCount(version)}`
        : `${formatCount(behind)} behind version ${formatCount(version)}`}
    >
      <table class="lb-nodes">
        <thead>
          <tr>
            <th>Node</th>
            <th>Runs version</th>
            <th>Last asked</th>
          </tr>
        </thead>
        <tbody>
          {nodes.map((n) => (
            <tr>
              <td>
                <a href={`/nodes/${encodeURIComponent(n.node)}`}>{n.node}</a>
              </td>
              <td class={n.inSync ? undefined : "bad"}>
                {n.appliedVersion === null ? "none yet" : formatCount(n.appliedVersion)}
              </td>
              <td>{formatAgo((props.now - Date.parse(n.polledAt)) / 1000)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Panel>
  );
}
