// SPDX-License-Identifier: Apache-2.0
/**
 * `/servicemap`: who talks to whom over a window (?since=), optionally only
 * the edges touching a namespace (?namespace=): the SVG picture, then the
 * DNS edges (pods → DNS servers), the edges in a table for exact numbers, and the pods that talk most. Refreshed in place from
 * /fragments/servicemap with the same query.
 */
import { raw } from "hono/html";
import type { Talker, Window } from "../../control/monitoring/rollup.ts";
import { endpointLabel } from "../../control/monitoring/attribution.ts";
import { RateCell, TotalCell } from "../components/traffic-cells.tsx";
import type { MapDnsEdge, MapEdge, MapNode, ServiceMap } from "../../control/monitoring/servicemap.ts";
import { DNS_RCODES } from "../../control/wire/dns.ts";
import { formatBytes, formatCount } from "../format.ts";
import { Layout, type Session } from "../components/layout.tsx";
import { Live, LIVE_HINT } from "../components/live.tsx";
import { Panel } from "../components/panel.tsx";
import { WindowLinks, WindowNote, windowSpan, windowStart } from "../components/window-links.tsx";
import { quantileText } from "../monitoring/dns-tables.tsx";
import { errorRateText, serviceMapSvg } from "../monitoring/servicemap-svg.ts";
import { podPath, usText } from "../monitoring/tables.tsx";
import { servicePath } from "../components/service-form.tsx";

export const SERVICEMAP_PATH = "/servicemap";
export const SERVICEMAP_FRAGMENT_PATH = "/fragments/servicemap";

export interface ServiceMapView {
  map: ServiceMap;
  /** Pods with the most bytes sent and received over the window. */
  talkers: Talker[];
  since: string;
  window: Window;
  namespace?: string;
  /** Only this service's edges: its clients and its backends. */
  service?: { namespace: string; name: string };
}

const serviceText = (s: ServiceMapView["service"]) => (s === undefined ? undefined : `${s.namespace}/${s.name}`);

function mapQuery(since: string, namespace: string | undefined, service: string | undefined): string {
  const p = new URLSearchParams({ since });
  if (namespace !== undefined) p.set("namespace", namespace);
  if (service !== undefined) p.set("service", service);
  return `?${p.toString()}`;
}

export function ServiceMapPage(props: { view: ServiceMapView; session: Session }) {
  const { since, namespace } = props.view;
  const service = serviceText(props.view.service);
  return (
    <Layout title="Service map" hint={LIVE_HINT} session={props.session}>
      <div class="toolbar">
        <WindowLinks since={since} href={(s) => `${SERVICEMAP_PATH}${mapQuery(s, namespace, service)}`} />
        <form method="get" action={SERVICEMAP_PATH} class="filter">
          <input type="hidden" name="since" value={since} />
          <input type="text" name="namespace" value={namespace ?? ""} placeholder="namespace" />
          <input type="text" name="service" value={service ?? ""} placeholder="service (namespace/name)" />
          <button type="submit">Filter</button>
        </form>
      </div>
      <Live id="servicemap" src={`${SERVICEMAP_FRAGMENT_PATH}${mapQuery(since, namespace, service)}`}>
        <ServiceMapDetail view={props.view} />
      </Live>
    </Layout>
  );
}

/** The polled part: the picture and the edge table, or why there is nothing to draw. */
export function ServiceMapDetail(props: { view: ServiceMapView }) {
  const { map, since, window, namespace } = props.view;
  const service = serviceText(props.view.service);
  const where = (namespace === undefined ? "" : ` touching namespace ${namespace}`) +
    (service === undefined ? "" : ` of service ${service}`);
  if (map.edges.length === 0 && map.dns.length === 0) {
    return (
      <div class="empty">
        <p>
          No traffic{where} since {windowStart(since)}.
        </p>
        <p>
          The map is drawn from flows (the flows module, on pod veths), TCP connections (the tcp module) and DNS (the
          dns module); check that they are on for your nodes on the node pages, or choose a longer window.
        </p>
      </div>
    );
  }
  const failed = map.edges.reduce((n, e) => n + e.failures, 0);
  return (
    <>
      <WindowNote since={since} window={window} />
      <Panel
        title="Service map"
        meta={`${formatCount(map.nodes.length)} endpoints, ${formatCount(map.edges.length)} edges${
          map.dns.length > 0 ? `, ${formatCount(map.dns.length)} DNS edges` : ""
        }${where}`}
      >
        <div class="mapbox">{raw(serviceMapSvg(map))}</div>
        <p class="note">
          Arrows go from client to server, wider with more bytes (both ways); blue: pods, purple: services, grey:
          addresses outside the pods (grouped by subnet when there are many). A connection to a service (its VIP, or one
          of its backends: through the socket load balancer, the gateway, or straight to the pod) goes client → service
          → backend; one to the VIP itself, whose backend is not seen, stops at the service.{" "}
          {failed > 0 ? `Red: edges with failed connections (${formatCount(failed)} in all).` : ""}
          {map.dns.length > 0 &&
            " Dashed: DNS, pod → DNS server (through its service when the server is one's backend), red with error answers or timeouts; a DNS server shows the queries that reached it and their error rate."}
        </p>
      </Panel>
      {map.dns.length > 0 && (
        <Panel title="DNS" meta="pods → DNS servers, most queries first; errors: answers other than NOERROR">
          <DnsEdgeTable nodes={map.nodes} edges={map.dns} />
        </Panel>
      )}
      <Panel title={`Top pods by bytes, ${windowSpan(since)}`} meta="bytes sent + received over the window">
        <TalkerTable talkers={props.view.talkers} seconds={window.seconds} />
      </Panel>
      <Panel title={`Edges by bytes, ${windowSpan(since)}`} meta="client → server, busiest first">
        <EdgeTable nodes={map.nodes} edges={map.edges} />
      </Panel>
    </>
  );
}

function TalkerTable(props: { talkers: readonly Talker[]; seconds: number }) {
  if (props.talkers.length === 0) {
    return (
      <p class="empty">
        No pod sent or received anything in this window: the traffic above is between addresses outside the pods.
      </p>
    );
  }
  const per = (n: number) => (props.seconds > 0 ? n / props.seconds : null);
  return (
    <table class="talkers">
      <thead>
        <tr>
          <th>Pod</th>
          <th>Rate</th>
          <th>Total</th>
        </tr>
      </thead>
      <tbody>
        {props.talkers.map((t) => (
          <tr>
            <td>
              {t.a.kind === "pod" && t.a.name !== ""
                ? <a href={podPath(t.a)}>{endpointLabel(t.a)}</a>
                : endpointLabel(t.a)}
            </td>
            <RateCell bytesPerSec={per(t.bytes)} packetsPerSec={per(t.packets)} />
            <TotalCell bytes={t.bytes} packets={t.packets} />
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function EdgeTable(props: { nodes: readonly MapNode[]; edges: readonly MapEdge[] }) {
  if (props.edges.length === 0) {
    return <p class="none">No flows or TCP connections here: the map above is DNS alone.</p>;
  }
  const byId = new Map(props.nodes.map((n) => [n.id, n]));
  const edges = [...props.edges].sort((a, b) => b.bytes - a.bytes || b.connections - a.connections);
  return (
    <table class="edges">
      <thead>
        <tr>
          <th>Client</th>
          <th>Server</th>
          <EdgeNumberHeads />
        </tr>
      </thead>
      <tbody>
        {edges.map((e) => (
          <tr class={e.failures > 0 ? "failing" : undefined}>
            <EndpointName node={byId.get(e.source)} id={e.source} />
            <EndpointName node={byId.get(e.target)} id={e.target} />
            <EdgeNumbers edge={e} />
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** DNS edges with their queries, answers by rcode, errors, timeouts and p95. */
function DnsEdgeTable(props: { nodes: readonly MapNode[]; edges: readonly MapDnsEdge[] }) {
  const byId = new Map(props.nodes.map((n) => [n.id, n]));
  const edges = [...props.edges].sort((a, b) => b.queries - a.queries);
  return (
    <table class="dns-edges">
      <thead>
        <tr>
          <th>Client</th>
          <th>DNS server</th>
          <th>Queries</th>
          {DNS_RCODES.map((r) => <th>{r === "other" ? "other rcode" : r}</th>)}
          <th>Errors</th>
          <th>Error rate</th>
          <th>Timeouts</th>
          <th title="upper bound of the latency bucket holding it">p95</th>
        </tr>
      </thead>
      <tbody>
        {edges.map((e) => (
          <tr class={e.errors + e.timeouts > 0 ? "failing" : undefined}>
            <EndpointName node={byId.get(e.source)} id={e.source} />
            <EndpointName node={byId.get(e.target)} id={e.target} />
            <td>{formatCount(e.queries)}</td>
            {DNS_RCODES.map((r) => <td>{formatCount(e.responses[r])}</td>)}
            <td class={e.errors > 0 ? "bad" : undefined}>{formatCount(e.errors)}</td>
            <td>{errorRateText(e.errorRate)}</td>
            <td class={e.timeouts > 0 ? "bad" : undefined}>{formatCount(e.timeouts)}</td>
            <td>{quantileText(e.p95Us, e.answered)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The headers of EdgeNumbers' cells. */
export function EdgeNumberHeads() {
  return (
    <>
      <th>Bytes</th>
      <th>Connections</th>
      <th>Failed</th>
      <th>RTT</th>
    </>
  );
}

/** An edge's bytes (both ways), connections, failed connections and mean smoothed RTT, as table cells. */
export function EdgeNumbers(props: { edge: MapEdge }) {
  const e = props.edge;
  return (
    <>
      <td title={`${formatCount(e.bytes)} bytes`}>{formatBytes(e.bytes)}</td>
      <td>{formatCount(e.connections)}</td>
      <td class={e.failures > 0 ? "bad" : undefined}>{formatCount(e.failures)}</td>
      <td title="mean smoothed RTT of the edge's connections">{usText(e.avgSrttUs)}</td>
    </>
  );
}

/** A pod's or a service's label ("namespace/name") links to its page; other endpoints are text. */
function EndpointName(props: { node: MapNode | undefined; id: string }) {
  const label = props.node?.label ?? props.id;
  const [namespace, name, ...rest] = label.split("/");
  const named = name !== undefined && rest.length === 0;
  const href = !named
    ? undefined
    : props.node?.kind === "pod"
    ? podPath({ namespace: namespace!, name })
    : props.node?.kind === "service"
    ? servicePath({ namespace: namespace!, name })
    : undefined;
  return (
    <td>
      {href !== undefined ? <a href={href}>{label}</a> : label}
      <span class="sub">{props.node?.kind === "world" ? "outside the pods" : (props.node?.kind ?? "other")}</span>
    </td>
  );
}
