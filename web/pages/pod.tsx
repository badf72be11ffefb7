// SPDX-License-Identifier: Apache-2.0
/**
 * `/pods/:namespace/:name`: one pod (node, IPs, labels, owner, host veth,
 * state, RX/TX) with its flows, TCP health, drops and DNS over a window
 * (?since=), refreshed in place from /fragments/pods/:namespace/:name.
 */
import type { DnsView } from "../../control/queries/monitoring/dns-view.ts";
import type { DropsResult } from "../../control/queries/monitoring/drops.ts";
import type { FlowsResult } from "../../control/queries/monitoring/flows.ts";
import type { PodRecord } from "../../control/queries/monitoring/pods.ts";
import type { TcpResult } from "../../control/queries/monitoring/tcp.ts";
import type { Window } from "../../control/monitoring/rollup.ts";
import { failures } from "../../control/monitoring/tcp.ts";
import { formatAgo, formatBytes, formatCount, formatCountOf, formatSpan, MISSING } from "../format.ts";
import { Layout, type Session } from "../components/layout.tsx";
import { Live, LIVE_HINT } from "../components/live.tsx";
import { Panel } from "../components/panel.tsx";
import { TrafficCells, TrafficHeaders } from "../components/traffic-cells.tsx";
import { during, WindowLinks, WindowNote, windowStart } from "../components/window-links.tsx";
import { DnsPanel } from "../monitoring/dns-tables.tsx";
import { DropTable, FlowTable, podPath, TcpTable } from "../monitoring/tables.tsx";
import { PODS_PATH, podsWhere } from "./pods.tsx";

export interface PodDetailView {
  pod: PodRecord;
  /** The window as asked for (?since=, "5m" by default), and as queried. */
  since: string;
  window: Window;
  flows: FlowsResult;
  /** At most this many flows and connections are listed (the busiest). */
  limit: number;
  tcp: TcpResult;
  drops: DropsResult;
  /** Its DNS per server (summed over its uids), and its names. */
  dns: DnsView;
  /** Its node, when that node's dns module is switched off. */
  dnsOff: string[];
  now: number;
  /** How long a vanished pod stays listed. */
  graceMs: number;
}

export function podFragmentPath(pod: { namespace: string; name: string }, since: string): string {
  return `/fragments${podPath(pod)}?since=${encodeURIComponent(since)}`;
}

export function PodPage(props: { view: PodDetailView; session: Session }) {
  const { pod, since } = props.view;
  return (
    <Layout title={`${pod.namespace}/${pod.name}`} hint={LIVE_HINT} session={props.session}>
      <p class="crumbs">
        <a href={PODS_PATH}>← all pods</a> ·{" "}
        <a href={podsWhere("namespace", pod.namespace)}>namespace {pod.namespace}</a>
      </p>
      <WindowLinks since={since} href={(s) => `${podPath(pod)}?since=${s}`} />
      <Live id="pod-detail" src={podFragmentPath(pod, since)}>
        <PodDetail view={props.view} />
      </Live>
    </Layout>
  );
}

/** The polled part of the pod page. */
export function PodDetail(props: { view: PodDetailView }) {
  const { pod, since, window, flows, tcp, drops, dns, dnsOff, limit } = props.view;
  const filters = { pod: `${pod.namespace}/${pod.name}`, since: windowStart(since) };
  const dropped = drops.byReason.reduce((n, r) => n + r.packets, 0);
  return (
    <>
      <Panel title={pod.name} meta={<PodState view={props.view} />}>
        <PodFacts pod={pod} now={props.view.now} />
        <PodTraffic pod={pod} />
      </Panel>
      <WindowNote since={since} window={window} />
      <Panel title="Flows" meta={<FlowsMeta flows={flows} limit={limit} />}>
        <FlowTable flows={flows.flows} filters={filters} />
      </Panel>
      <Panel
        title="TCP health"
        meta={`${formatCount(tcp.totals.opened)} opened · ${formatCount(failures(tcp.totals))} failed · ${
          formatCount(tcp.totals.retransmits)
        } retransmits`}
      >
        <TcpTable rows={tcp.connections} filters={filters} />
      </Panel>
      <Panel title="Drops" meta={`${formatCountOf(dropped, "packet")} dropped ${during(since)}, by kernel reason`}>
        <DropTable rows={drops.drops} filters={filters} />
      </Panel>
      <DnsPanel dns={dns} off={dnsOff} filters={filters} perPod={false} />
    </>
  );
}

function FlowsMeta(props: { flows: FlowsResult; limit: number }) {
  const { flows, totals } = props.flows;
  return (
    <>
      {formatCountOf(flows.length, "flow")}
      {flows.length >= props.limit && ` (the busiest ${formatCount(props.limit)})`} ·{" "}
      <span title={`${formatCount(totals.bytes)} bytes`}>{formatBytes(totals.bytes)}</span> in{" "}
      {formatCountOf(totals.packets, "packet")}, both ways
    </>
  );
}

function PodState(props: { view: PodDetailView }) {
  const { pod, now, graceMs } = props.view;
  if (pod.vanishedAt === undefined) return <span class="state state-on">current</span>;
  return (
    <span class="state state-vanished">
      vanished {formatAgo((now - pod.vanishedAt) / 1000)}; listed for {formatSpan(graceMs / 1000)} after vanishing
    </span>
  );
}

function PodFacts(props: { pod: PodRecord; now: number }) {
  const { pod, now } = props;
  const labels = Object.entries(pod.labels).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return (
    <dl class="kv">
      <dt>Node</dt>
      <dd>
        <a href={`/nodes/${encodeURIComponent(pod.node)}`}>{pod.node}</a>{" "}
        (<a href={podsWhere("node", pod.node)}>its pods</a>)
      </dd>
      <dt>IPs</dt>
      <dd>{pod.ips.length ? pod.ips.join(", ") : MISSING}</dd>
      <dt>Labels</dt>
      <dd>
        {labels.length === 0
          ? <span class="na">none</span>
          : labels.map(([k, v]) => <code class="label">{`${k}=${v}`}</code>)}
      </dd>
      <dt>Owner</dt>
      <dd>{pod.owner ? `${pod.owner.kind} ${pod.owner.name}` : <span class="na">none (a bare pod)</span>}</dd>
      <dt>Host veth</dt>
      <dd>
        {pod.hostVeth !== null
          ? <code>{pod.hostVeth}</code>
          : <span class="na">{pod.hostNetwork ? "none: on the host's network" : "not reported"}</span>}
      </dd>
      <dt>UID</dt>
      <dd>
        <code>{pod.uid}</code>
      </dd>
      <dt>Listed</dt>
      <dd>
        first {formatAgo((now - pod.firstSeen) / 1000)}, last {formatAgo((now - pod.lastSeen) / 1000)}{" "}
        (by its node's clock)
      </dd>
    </dl>
  );
}

/** RX is what the pod received, TX what it sent; rates over its node's last two reports. */
function PodTraffic(props: { pod: PodRecord }) {
  const { pod } = props;
  return (
    <table class="traffic">
      <thead>
        <tr>
          <TrafficHeaders
            drops={
              <th title="packets of this pod the kernel dropped (drops module), since its node's agent started; the Drops panel below lists them by reason over the chosen window">
                Drops<span class="sub">since the agent started</span>
              </th>
            }
          />
        </tr>
      </thead>
      <tbody>
        <tr>
          <TrafficCells rates={pod.rates} totals={pod} />
        </tr>
      </tbody>
    </table>
  );
}
