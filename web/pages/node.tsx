// SPDX-License-Identifier: Apache-2.0
/**
 * `/nodes/:node?since=&ifname=`: one node in full, ordered so that its first
 * screen answers "is this node healthy", in regions htmx refreshes in place:
 * - its status and health summary, then its active alerts (every 2 s,
 *   /fragments/nodes/:node);
 * - its traffic over a window (5 min, 1 h, 24 h or any ?since=): RX/TX
 *   charts of the node's total or one interface (?ifname=), TCP health,
 *   drops and DNS of what it reported (every 5 s, /fragments/nodes/:node/traffic);
 * - its modules with switches (every 2 s, /fragments/nodes/:node/modules; a
 *   switch answers with this region);
 * - folded at the end, the long lists: interfaces, kernel features, programs
 *   and maps (/fragments/nodes/:node/lists, every 2 s while unfolded). The
 *   fold is outside the region it refreshes, so it stays open.
 * Renders for any valid name: a node that has not reported yet shows its
 * (pre-provisioned) module switches.
 */
import type { ModuleView } from "../../control/queries/modules.ts";
import type { SeriesPoint } from "../../control/queries/monitoring/interfaces.ts";
import type { DnsView } from "../../control/queries/monitoring/dns-view.ts";
import type { DropsResult } from "../../control/queries/monitoring/drops.ts";
import type { TcpResult } from "../../control/queries/monitoring/tcp.ts";
import type { NodeDetail } from "../../control/queries/nodes.ts";
import type { StatusThresholds } from "../../control/queries/node-status.ts";
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
import { NodeDeleteForm } from "../components/node-delete.tsx";
import { Panel } from "../components/panel.tsx";
import { NodeFacts, StatusBadge } from "../components/status.tsx";
import { NodeHealth, type RecentDrops } from "../components/node-health.tsx";
import { TrafficCharts } from "../components/traffic-chart.tsx";
import { during, WindowLinks, WindowNote, windowStart } from "../components/window-links.tsx";
import { DnsPanel } from "../monitoring/dns-tables.tsx";
import { DropTable, TcpTable } from "../monitoring/tables.tsx";
import { podsWhere } from "./pods.tsx";

export function nodeFragmentPath(node: string): string {
  return `/fragments/nodes/${encodeURIComponent(node)}`;
}

export function nodeModulesFragmentPath(node: string): string {
  return `${nodeFragmentPath(node)}/modules`;
}

export function nodeListsFragmentPath(node: string): string {
  return `${nodeFragmentPath(node)}/lists`;
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
  /** When a node counts as Stale or Lost (the health summary says). */
  thresholds: StatusThresholds;
  /** What the drops module counted lately (the health summary). */
  drops: RecentDrops;
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
      {view.detail !== undefined && (
        <details id="node-lists" class="panel lists">
          <summary>
            Interfaces, kernel features, eBPF programs and maps{" "}
            <span class="meta">
              {formatCountOf(view.detail.interfaceStates.length, "interface")},{" "}
              {formatCountOf(view.detail.inventory?.programs.length ?? 0, "program")},{" "}
              {formatCountOf(view.detail.inventory?.maps.length ?? 0, "map")}
            </span>
          </summary>
          {/* Polled only while unfolded; the answer replaces this div's contents, never the fold. */}
          <div
            hx-get={nodeListsFragmentPath(view.name)}
            hx-trigger="every 2s [this.closest('details').open]"
            hx-swap="innerHTML"
          >
            <NodeListsView detail={view.detail} />
          </div>
        </details>
      )}
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
        <NodeHealth
          view={{ detail, modules: view.modules, thresholds: view.thresholds, alerts: view.alerts, drops: view.drops }}
        />
      </section>
      <NodeAlerts node={detail.name} alerts={view.alerts} now={view.now} />
    </>
  );
}

/** The modules region: what the node should run, what its agent reports, and the switches. */
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
      {view.isAdmin && <NodeDeleteForm node={view.name} />}
    </>
  );
}

/** The folded lists: interfaces, then what the agent runs. */
export function NodeListsView(props: { detail: NodeDetail }) {
  const { detail } = props;
  return (
    <>
      <section class="panel">
        <h3>Interfaces</h3>
        <InterfaceTable interfaces={detail.interfaceStates} />
      </section>
      <InventoryView inventory={detail.inventory} receivedAt={detail.inventoryReceivedAt} />
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
      <Panel
        title="Drops"
        meta={`${formatCountOf(dropped, "packet")} dropped ${
          during(since)
        } on ${node} and its pods, by kernel reason (drops module)`}
      >
        <DropTable rows={drops.drops} filters={filters} />
        <p class="note">
          Every packet the kernel dropped (skb:kfree_skb) on any interface of the node or in its pods' namespaces, over
          the window. The interface table counts only drops on the watched interfaces, since the agent started (ifstats
          module), so its numbers are smaller and older.
        </p>
      </Panel>
      <DnsPanel dns={dns} off={dnsOff} filters={filters} perPod />
    </>
  );
}
