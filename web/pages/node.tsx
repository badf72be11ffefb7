// SPDX-License-Identifier: Apache-2.0
/**
 * `/nodes/:node?since=&ifname=`: one node in full, in three regions htmx
 * refreshes in place:
 * - its status and interfaces (every 2 s, /fragments/nodes/:node);
 * - its traffic over a window (5 min, 1 h, 24 h or any ?since=): RX/TX
 *   charts of the node's total or one interface (?ifname=), TCP health,
 *   drops and DNS of what it reported (every 5 s, /fragments/nodes/:node/traffic);
 * - its modules with switches, programs, maps and features (every 2 s,
 *   /fragments/nodes/:node/modules; a switch answers with this region).
 * Renders for any valid name: a node that has not reported yet shows its
 * (pre-provisioned) module switches.
 */
import type { ModuleView } from "../../control/queries/modules.ts";
import type { SeriesPoint } from "../../control/queries/monitoring/interfaces.ts";
import type { DnsView } from "../../control/queries/monitoring/dns-view.ts";
import type { DropsResult } from "../../control/queries/monitoring/drops.ts";
import type { TcpResult } from "../../control/queries/monitoring/tcp.ts";
import type { NodeDetail } from "../../control/queries/nodes.ts";
import type { Window } from "../../control/monitoring/rollup.ts";
import { failures } from "../../control/monitoring/tcp.ts";
import type { DesiredState } from "../../control/wire/batch.ts";
import { formatCount, formatCountOf } from "../format.ts";
import type { AlertView } from "../../control/alerts/alerts.ts";
import { AlertCount, NodeAlerts } from "../components/alerts.tsx";
import { InterfaceTable } from "../components/interface-table.tsx";
import { InventoryView } from "../components/inventory.tsx";
import { Layout, type Session } from "../components/layout.tsx";
import { Live } from "../components/live.tsx";
import { ModuleTable } from "../components/module-table.tsx";
import { Panel } from "../components/panel.tsx";
import { NodeFacts, StatusBadge } from "../components/status.tsx";
import { TrafficCharts } from "../components/traffic-chart.tsx";
import { WindowLinks, WindowNote, windowStart } from "../components/window-links.tsx";
import { DnsPanel } from "../monitoring/dns-tables.tsx";
import { DropTable, TcpTable } from "../monitoring/tables.tsx";
import { podsWhere } from "./pods.tsx";

export function nodeFragmentPath(node: string): string {
  return `/fragments/nodes/${encodeURIComponent(node)}`;
}

export function nodeModulesFragmentPath(node: string): string {
  return `${nodeFragmentPath(node)}/modules`;
}

/** The page (or, under /fragments, its traffic region) for a window and an interface ("" or absent: the node's total). */
export function nodeTrafficQuery(since: string, ifname?: string): string {
  const p = new URLSearchParams({ since });
  if (ifname) p.set("ifname", ifname);
  return `?${p.toString()}`;
}

export interface NodeView {
  name: string;
  /** Undefined until the node's first batch. */
  detail: NodeDetail | undefined;
  desired: DesiredState;
  modules: ModuleView[];
  isAdmin: boolean;
  loginPath: string;
  /** Active alerts about the node or its pods, and when they were read. */
  alerts: AlertView[];
  now: number;
}

/** The traffic region: a window of the node's reports. */
export interface NodeTrafficView {
  node: string;
  /** The window as asked for (?since=, "5m" by default), and as queried. */
  since: string;
  window: Window;
  /** The interface charted; undefined for the node's total. */
  ifname?: string;
  /** The node's interfaces now, to choose from. */
  interfaces: string[];
  series: SeriesPoint[];
  tcp: TcpResult;
  drops: DropsResult;
  /** Per pod and server, and each pod's top names. */
  dns: DnsView;
  /** The node, when its dns module is switched off. */
  dnsOff: string[];
  /** At most this many TCP rows are listed (the busiest). */
  limit: number;
}

export function NodePage(props: { view: NodeView; traffic: NodeTrafficView; session: Session }) {
  const { view, traffic } = props;
  const path = `/nodes/${encodeURIComponent(view.name)}`;
  return (
    <Layout title={view.name} hint="updates every 2 s (traffic every 5 s)" session={props.session} charts>
      <p class="crumbs">
        <a href="/">← all nodes</a> · <a href={podsWhere("node", view.name)}>pods on {view.name}</a>
      </p>
      <p id="flash" class="flash" role="status"></p>
      <div id="node-detail" hx-get={nodeFragmentPath(view.name)} hx-trigger="every 2s" hx-swap="innerHTML">
        <NodeDetailView view={view} />
      </div>
      {view.detail !== undefined && (
        <section class="traffic-region" aria-label="traffic">
          <div class="toolbar">
            <WindowLinks since={traffic.since} href={(s) => `${path}${nodeTrafficQuery(s, traffic.ifname)}`} />
            <InterfaceLinks view={traffic} href={(i) => `${path}${nodeTrafficQuery(traffic.since, i)}`} />
          </div>
          <Live
            id="node-traffic"
            src={`${nodeFragmentPath(view.name)}/traffic${nodeTrafficQuery(traffic.since, traffic.ifname)}`}
          >
            <NodeTraffic view={traffic} />
          </Live>
        </section>
      )}
      <div id="node-modules" hx-get={nodeModulesFragmentPath(view.name)} hx-trigger="every 2s" hx-swap="innerHTML">
        <NodeModulesView view={view} />
      </div>
    </Layout>
  );
}

/** The status region: the node and its interfaces now. */
export function NodeDetailView(props: { view: NodeView }) {
  const { view } = props;
  const { detail } = view;
  if (detail === undefined) {
    return (
      <section class="node">
        <header>
          <h2>{view.name}</h2>
          <span class="meta">has not reported yet</span>
        </header>
        <p class="none">
          No batch from a node of this name has arrived. Module switches made here are kept and sent to it when it joins
          (pre-provisioning).
        </p>
      </section>
    );
  }
  return (
    <>
      <section class="node">
        <header>
          <h2>{detail.name}</h2>
          <StatusBadge node={detail} />
          <AlertCount node={detail.name} count={view.alerts.length} />
          <NodeFacts node={detail} />
        </header>
        <InterfaceTable interfaces={detail.interfaceStates} />
      </section>
      <NodeAlerts node={detail.name} alerts={view.alerts} now={view.now} />
    </>
  );
}

/** The modules region: switches, then what the agent runs. */
export function NodeModulesView(props: { view: NodeView }) {
  const { view } = props;
  return (
    <>
      <ModuleTable
        node={view.name}
        desired={view.desired}
        modules={view.modules}
        isAdmin={view.isAdmin}
        loginPath={view.loginPath}
      />
      {view.detail !== undefined && (
        <InventoryView inventory={view.detail.inventory} receivedAt={view.detail.inventoryReceivedAt} />
      )}
    </>
  );
}

/** "Chart: node total · eth0 · cni0": which series the charts show. */
function InterfaceLinks(props: { view: NodeTrafficView; href: (ifname?: string) => string }) {
  const { view } = props;
  if (view.interfaces.length === 0) return null;
  return (
    <nav class="windows" aria-label="interface">
      <span class="meta">Chart</span>
      <a href={props.href()} aria-current={view.ifname === undefined ? "page" : undefined}>
        node total
      </a>
      {view.interfaces.map((i) => (
        <a href={props.href(i)} aria-current={view.ifname === i ? "page" : undefined}>
          {i}
        </a>
      ))}
    </nav>
  );
}

/** The traffic region's contents. */
export function NodeTraffic(props: { view: NodeTrafficView }) {
  const { node, since, window, ifname, series, tcp, drops, dns, dnsOff, limit } = props.view;
  const filters = { node, since: windowStart(since) };
  const dropped = drops.byReason.reduce((n, r) => n + r.packets, 0);
  const what = ifname === undefined ? `${node}, all interfaces summed` : `${ifname} on ${node}`;
  const empty = ifname === undefined
    ? `No interface traffic reported by ${node} since ${
      windowStart(since)
    }. The ifstats module counts RX/TX on the interfaces the agent watches (--interfaces); check that it is on below, or choose a longer window.`
    : `No traffic reported for ${ifname} on ${node} since ${
      windowStart(since)
    }: the interface was not watched then, or choose a longer window.`;
  return (
    <>
      <WindowNote since={since} window={window} />
      <Panel title="RX/TX" meta={what} id="traffic">
        <TrafficCharts points={series} window={window} empty={empty} />
      </Panel>
      <Panel
        title="TCP health"
        meta={`${formatCount(tcp.totals.opened)} opened · ${formatCount(failures(tcp.totals))} failed · ${
          formatCount(tcp.totals.retransmits)
        } retransmits${tcp.connections.length >= limit ? ` (the busiest ${formatCount(limit)} rows)` : ""}`}
      >
        <TcpTable rows={tcp.connections} filters={filters} />
      </Panel>
      <Panel title="Drops" meta={`${formatCountOf(dropped, "packet")} dropped`}>
        <DropTable rows={drops.drops} filters={filters} />
      </Panel>
      <DnsPanel dns={dns} off={dnsOff} filters={filters} perPod />
    </>
  );
}
