// SPDX-License-Identifier: Apache-2.0
/**
 * `/services/:namespace/:name`: each frontend (port) of the service with its
 * backends: state, weight, connections over the window and the share they
 * took next to the share their weight asks for; and what the acceleration
 * rules naming the port accelerated over the window; its traffic (clients,
 * backends) and the drops that named it. For an admin, services made
 * through the API get a state switch per backend and a delete button; those
 * from Kubernetes are read-only here. Refreshed in place from
 * /fragments/services/:namespace/:name.
 */
import type { BackendView, ServicesView, ServiceView } from "../../control/services/views.ts";
import { BACKEND_STATES } from "../../control/wire/services.ts";
import { Layout, type Session } from "../components/layout.tsx";
import { Live, LIVE_HINT } from "../components/live.tsx";
import { GatewayEventsText, GatewayFrontendTable } from "../components/gateway-events.tsx";
import { Panel } from "../components/panel.tsx";
import { editPath, portPath, servicePath, SERVICES_PATH } from "../components/service-form.tsx";
import { WindowLinks, windowStart } from "../components/window-links.tsx";
import { ACCEL_PATH } from "../accel-routes.tsx";
import { FLASH_ID } from "../deny.tsx";
import { formatBytes, formatCount, formatPercent, MISSING } from "../format.ts";
import type { MapEdge, ServiceMap } from "../../control/monitoring/servicemap.ts";
import { EdgeNumberHeads, EdgeNumbers, SERVICEMAP_PATH } from "./servicemap.tsx";
import { FLOWS_PATH, flowsUrl } from "./flows.tsx";
import { endpointKey } from "../../control/monitoring/attribution.ts";
import type { PodReasonTotal } from "../../control/monitoring/drops.ts";
import { EndpointCell } from "../monitoring/tables.tsx";
import { ReasonCell, ReasonLegend } from "../monitoring/drop-reasons.tsx";
import { affinityText, externalText, frontendText, SyncCell } from "./services.tsx";

export const SERVICE_DETAIL_ID = "service-detail";

export interface ServicePageView {
  namespace: string;
  name: string;
  view: ServicesView;
  /** The service's edges on the service map over the window: clients → service → backends. */
  traffic?: ServiceMap;
  /** The drops that named the service over the same window, per pod and reason. */
  drops?: PodReasonTotal[];
  since: string;
  isAdmin: boolean;
}

export function ServicePage(props: { page: ServicePageView; session: Session }) {
  const { page } = props;
  const path = servicePath(page);
  return (
    <Layout title={`${page.namespace}/${page.name}`} hint={LIVE_HINT} session={props.session}>
      <p class="crumbs">
        <a href={SERVICES_PATH}>← all services</a>
      </p>
      <p id={FLASH_ID} class="flash" role="status"></p>
      <WindowLinks since={page.since} href={(s) => `${path}?since=${encodeURIComponent(s)}`} />
      <Live id={SERVICE_DETAIL_ID} src={`/fragments${path}?since=${encodeURIComponent(page.since)}`}>
        <ServiceDetail page={page} />
      </Live>
    </Layout>
  );
}

/** The polled part: a panel per port. */
export function ServiceDetail(props: { page: ServicePageView }) {
  const { page } = props;
  if (page.view.services.length === 0) {
    return (
      <div class="empty">
        <p>
          {page.namespace}/{page.name} has no ports any more: it was deleted. <a href={SERVICES_PATH}>All services</a>
        </p>
      </div>
    );
  }
  return (
    <>
      {page.view.services.map((s) => <FrontendPanel service={s} page={page} />)}
      {page.traffic && <TrafficPanel page={page} traffic={page.traffic} drops={page.drops ?? []} />}
    </>
  );
}

/**
 * Who uses the service and where its traffic goes, from the monitoring
 * modules (flows, tcp) rather than the load balancer's own counters: also
 * connections straight to a backend pod and through the gateway. Then what
 * the drops module saw dropped on its way to or from the service.
 */
function TrafficPanel(props: { page: ServicePageView; traffic: ServiceMap; drops: readonly PodReasonTotal[] }) {
  const { page, traffic } = props;
  const id = endpointKey({ kind: "service", namespace: page.namespace, name: page.name });
  const label = new Map(traffic.nodes.map((n) => [n.id, n.label]));
  const clients = traffic.edges.filter((e) => e.target === id);
  const backends = traffic.edges.filter((e) => e.source === id);
  const mapLink = `${SERVICEMAP_PATH}?service=${encodeURIComponent(`${page.namespace}/${page.name}`)}&since=${
    encodeURIComponent(page.since)
  }`;
  return (
    <Panel
      title="Traffic"
      meta={`since ${windowStart(page.since)}, from the flows, tcp and drops modules`}
      id="traffic"
    >
      {clients.length === 0 && backends.length === 0
        ? (
          <p class="empty">
            No flow or connection named this service since{" "}
            {windowStart(page.since)}. Traffic is seen where the flows and tcp modules run, on the nodes of its clients
            and backends.
          </p>
        )
        : (
          <>
            <EdgeList title="Clients" ends={clients.map((e) => ({ ...e, end: label.get(e.source) ?? e.source }))} />
            <EdgeList title="Backends" ends={backends.map((e) => ({ ...e, end: label.get(e.target) ?? e.target }))} />
          </>
        )}
      <ServiceDrops drops={props.drops} since={page.since} />
      <p class="note">
        <a href={mapLink}>On the service map</a> ·{" "}
        <a href={flowsUrl(FLOWS_PATH, { service: `${page.namespace}/${page.name}`, since: page.since })}>Its flows</a>
      </p>
    </Panel>
  );
}

/** Packets the kernel dropped on their way to or from the service (the drops module), per reason and pod. */
function ServiceDrops(props: { drops: readonly PodReasonTotal[]; since: string }) {
  if (props.drops.length === 0) {
    return (
      <p class="none" id="service-drops">
        No dropped packets named this service since {windowStart(props.since)}.
      </p>
    );
  }
  return (
    <>
      <table class="drops" id="service-drops">
        <thead>
          <tr>
            <th>Drop reason</th>
            <th>Pod</th>
            <th>Packets</th>
            <th>Bytes</th>
          </tr>
        </thead>
        <tbody>
          {props.drops.map((d) => (
            <tr>
              <ReasonCell reason={d.reason} />
              {d.pod ? <EndpointCell e={d.pod} /> : <td class="na">the node's own</td>}
              <td>{formatCount(d.packets)}</td>
              <td>{formatBytes(d.bytes)}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <ReasonLegend rows={props.drops} />
    </>
  );
}

function EdgeList(props: { title: string; ends: Array<MapEdge & { end: string }> }) {
  const ends = [...props.ends].sort((a, b) => b.bytes - a.bytes || b.connections - a.connections);
  return (
    <table class="edges">
      <thead>
        <tr>
          <th>{props.title}</th>
          <EdgeNumberHeads />
        </tr>
      </thead>
      <tbody>
        {ends.length === 0 && (
          <tr>
            <td colspan={5} class="empty">none seen</td>
          </tr>
        )}
        {ends.map((e) => (
          <tr class={e.failures > 0 ? "failing" : undefined}>
            <td>{e.end}</td>
            <EdgeNumbers edge={e} />
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function FrontendPanel(props: { service: ServiceView; page: ServicePageView }) {
  const { service: s, page } = props;
  const editable = page.isAdmin && s.source === "api";
  return (
    <Panel title={frontendText(s)} meta={s.portName === "" ? "unnamed port" : `port ${s.portName}`} id={`port-${s.id}`}>
      <dl class="kv">
        <dt>Type</dt>
        <dd>
          {s.type}
          {externalText(s)
            ? <span class="meta">{" (from outside through the gateway: "}{externalText(s)})</span>
            : null}
        </dd>
        <dt>Affinity</dt>
        <dd>{affinityText(s)}</dd>
        <dt>Defined by</dt>
        <dd>
          {s.source === "kubernetes" ? "Kubernetes (its Service and EndpointSlices; read-only here)" : "the admin API"}
        </dd>
        <dt>Nodes running it</dt>
        <dd>
          <SyncCell nodes={s.health.nodes} /> <span class="meta">(changed at version {formatCount(s.version)})</span>
        </dd>
        <dt>Since {windowStart(page.since)}</dt>
        <dd>
          {formatCount(s.connections)}{" "}
          connections{s.refused > 0 && (
            <strong class="error-text">, {formatCount(s.refused)} refused (no usable backend)</strong>
          )}
        </dd>
        <dt>Accelerated since {windowStart(page.since)}</dt>
        <dd>
          <AccelText service={s} />
        </dd>
        {externalText(s) && (
          <>
            <dt>Gateway since {windowStart(page.since)}</dt>
            <dd>
              in {formatCount(s.gateway.packetsIn)} packets, {formatBytes(s.gateway.bytesIn)}; out{" "}
              {formatCount(s.gateway.packetsOut)} packets, {formatBytes(s.gateway.bytesOut)}
            </dd>
            <dt>Gateway flows since {windowStart(page.since)}</dt>
            <dd>
              <GatewayEventsText gateway={s.gateway} />
            </dd>
          </>
        )}
      </dl>
      {externalText(s) && <GatewayFrontendTable gateway={s.gateway} />}
      <BackendTable service={s} editable={editable} />
      {editable && (
        <p class="note">
          <a href={editPath(s)}>change this port</a>{" "}
          <form
            class="inline"
            hx-post={`${portPath(s)}/delete`}
            hx-target={`#${SERVICE_DETAIL_ID}`}
            hx-swap="innerHTML"
            hx-confirm={`Delete ${frontendText(s)} (${s.namespace}/${s.name}${
              s.portName ? ` port ${s.portName}` : ""
            })? Connections to it stop being balanced at once.`}
          >
            <button type="submit" class="link">delete this port</button>
          </form>
        </p>
      )}
    </Panel>
  );
}

/** What the service rules covering the port accelerated (socket acceleration of same-node connections). */
function AccelText(props: { service: ServiceView }) {
  const { accel } = props.service;
  if (accel.rules.length === 0) {
    return (
      <span class="meta">
        no <a href={ACCEL_PATH}>acceleration rule</a> names this port
      </span>
    );
  }
  return (
    <>
      {formatCount(accel.connections)} connections, {formatBytes(accel.bytes)}{" "}
      <span class="meta">
        (same-node connections to its backends, by {accel.rules.length === 1 ? "rule" : "rules"}{" "}
        {accel.rules.map((id, i) => (
          <>
            {i > 0 && ", "}
            <a href={`${ACCEL_PATH}#accel-rule-${id}`}>{id}</a>
          </>
        ))})
      </span>
    </>
  );
}

function BackendTable(props: { service: ServiceView; editable: boolean }) {
  const { service: s, editable } = props;
  if (s.backends.length === 0) {
    return <p class="none">No backends: connections to {frontendText(s)} are refused at once.</p>;
  }
  return (
    <table class="backends">
      <thead>
        <tr>
          <th>Backend</th>
          <th>State</th>
          <th>Weight</th>
          <th>Connections</th>
          <th>Share taken / asked</th>
        </tr>
      </thead>
      <tbody>
        {s.backends.map((b) => (
          <tr id={`backend-${b.id}`} class={b.state === "active" ? undefined : "vanished"}>
            <td>
              <code>
                {b.ip}:{b.port}
              </code>
              {b.pod && <span class="sub">pod {b.pod.namespace}/{b.pod.name}</span>}
            </td>
            <td>{editable ? <StateSwitch service={s} backend={b} /> : <StateText state={b.state} />}</td>
            <td>{formatCount(b.weight)}</td>
            <td>{formatCount(b.connections)}</td>
            <td>
              <ShareBar backend={b} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const STATE_TEXT: Record<BackendView["state"], string> = {
  active: "active",
  terminating: "terminating: no new connections",
  unhealthy: "unhealthy: no new connections",
};

function StateText(props: { state: BackendView["state"] }) {
  return (
    <span class={props.state === "active" ? "state state-on" : "state state-vanished"}>{STATE_TEXT[props.state]}</span>
  );
}

function StateSwitch(props: { service: ServiceView; backend: BackendView }) {
  const { service: s, backend: b } = props;
  return (
    <form
      class="inline"
      hx-post={`${portPath(s)}/backends/${b.ip}:${b.port}/state`}
      hx-target={`#${SERVICE_DETAIL_ID}`}
      hx-swap="innerHTML"
    >
      <select name="state" aria-label={`state of ${b.ip}:${b.port}`}>
        {BACKEND_STATES.map((state) => (
          <option value={state} selected={state === b.state}>
            {state}
          </option>
        ))}
      </select>{" "}
      <button type="submit">set</button>
    </form>
  );
}

/** The measured share as a bar, with a mark where the weight says it should be. */
function ShareBar(props: { backend: BackendView }) {
  const { share, expectedShare } = props.backend;
  const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
  const taken = share === null ? MISSING : formatPercent(share, 1);
  const asked = expectedShare === null ? MISSING : formatPercent(expectedShare, 1);
  return (
    <span class="share-cell" title={`took ${taken} of the connections; its weight asks for ${asked}`}>
      <span class="fill share">
        {share !== null && <span class="bar bar-ok" style={`width: ${pct(share)}`}></span>}
        {expectedShare !== null && <span class="expected" style={`left: ${pct(expectedShare)}`}></span>}
      </span>{" "}
      {taken} / {asked}
    </span>
  );
}
