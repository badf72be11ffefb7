// SPDX-License-Identifier: Apache-2.0
/**
 * The DNS panel of the pod and node pages (control/queries/monitoring/dns-view.ts): per server (named as the pod
 * or service it is, with its address and port) queries by type, answers by rcode, error rate, truncated answers,
 * timeouts, TCP and latency; then the names asked for most and answered NXDOMAIN most. Empty: says whether the
 * node's dns module is off or nothing was seen.
 */
import type { DnsNamesView, DnsServerView, DnsView } from "../../control/queries/monitoring/dns-view.ts";
import { endpointKey, endpointLabel, type StoredEndpoint } from "../../control/monitoring/attribution.ts";
import { LATENCY_ABOVE_US } from "../../control/monitoring/dns-latency.ts";
import type { DnsNameSum } from "../../control/queries/monitoring/dns.ts";
import { DNS_OTHER_NAME, DNS_QTYPES, DNS_RCODES } from "../../control/wire/dns.ts";
import { formatCount, formatCountOf, formatPercent, MISSING } from "../format.ts";
import { Panel } from "../components/panel.tsx";
import { EndpointCell, filterText, type FlowFilters, usText } from "./tables.tsx";

/** Names listed per pod and list: the pod page's one pod, and each pod of a node's page. */
export const POD_PAGE_DNS_NAMES = 10;
export const NODE_PAGE_DNS_NAMES = 5;

export interface DnsPanelProps {
  dns: DnsView;
  /** The nodes whose dns module is switched off (the pod's node, or the node of the page). */
  off: readonly string[];
  filters: FlowFilters;
  /** A Pod column: the node page lists each pod's rows. */
  perPod: boolean;
}

export function DnsPanel(props: DnsPanelProps) {
  const { dns, off, filters, perPod } = props;
  const queries = dns.servers.reduce((n, s) => n + s.summary.queriesTotal, 0);
  const errors = dns.servers.reduce((n, s) => n + s.summary.errors, 0);
  const answers = dns.servers.reduce((n, s) => n + s.summary.responsesTotal, 0);
  const timeouts = dns.servers.reduce((n, s) => n + s.summary.timeouts, 0);
  const offNote = off.length > 0 && (
    <p class="none">
      The dns module is switched off for{" "}
      {off.join(", ")}: no DNS is counted there until it is switched on again (the node's modules).
    </p>
  );
  if (dns.servers.length === 0 && dns.names.length === 0) {
    return (
      <Panel title="DNS" meta="no DNS seen">
        {offNote || (
          <p class="none">
            No DNS seen in this window{filterText(filters)}. The dns module counts queries and answers on pod veths (UDP
            and TCP port 53 and the agent's --dns-ports); a pod that asked nothing, or asks through the host's network,
            has none.
          </p>
        )}
      </Panel>
    );
  }
  return (
    <Panel
      title="DNS"
      meta={`${formatCountOf(queries, "query", "queries")} · ${formatPercent(errors, answers)} errors · ${
        formatCountOf(timeouts, "timeout")
      }`}
    >
      {offNote}
      <DnsServerTable rows={dns.servers} perPod={perPod} />
      <DnsNameTables lists={dns.names} perPod={perPod} />
    </Panel>
  );
}

/** The asking pod; null: the node's "other" record. */
function PodCell(props: { pod: StoredEndpoint | null }) {
  if (props.pod !== null) return <EndpointCell e={props.pod} />;
  return <td class="na">other: pods over the agent's caps, or a veth of no known pod</td>;
}

const hostPort = (ip: string, port: number) => (ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`);

function ServerCell(props: { row: DnsServerView }) {
  const { server, port, name } = props.row;
  const { endpoint, service } = name;
  // The service apart when the address is not its VIP (a resolver pod behind kube-dns).
  const via = service !== undefined && endpointKey(service) !== endpointKey(endpoint)
    ? ` · service ${endpointLabel(service)}`
    : "";
  const what = endpoint.kind === "pod"
    ? " · pod"
    : endpoint.kind === "service"
    ? " · service VIP"
    : endpoint.kind === "world"
    ? " · outside the pods"
    : " · servers over the agent's cap";
  return <EndpointCell e={endpoint} sub={`${hostPort(server, port)}${what}${via}`} />;
}

/** A quantile of `answered` timed answers: the upper bound of its bucket; past the last bound "> 2.50 s". */
export function quantileText(us: number | null, answered: number): string {
  if (us !== null) return `≤ ${usText(us)}`;
  return answered === 0 ? MISSING : `> ${usText(LATENCY_ABOVE_US)}`;
}

/** Per pod (on a node's page), the servers asked most first; ties by address and port. */
function ordered(rows: readonly DnsServerView[], perPod: boolean): DnsServerView[] {
  const podLabel = (r: DnsServerView) => (r.pod === null ? "\uffff" : endpointLabel(r.pod));
  const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);
  return [...rows].sort((a, b) =>
    (perPod ? cmp(podLabel(a), podLabel(b)) : 0) || b.summary.queriesTotal - a.summary.queriesTotal ||
    cmp(a.server, b.server) || a.port - b.port
  );
}

function DnsServerTable(props: { rows: readonly DnsServerView[]; perPod: boolean }) {
  if (props.rows.length === 0) return null;
  return (
    <table class="dns">
      <thead>
        <tr>
          {props.perPod && <th>Pod</th>}
          <th>Server</th>
          <th>Queries</th>
          {DNS_RCODES.map((r) => <th>{r === "other" ? "other rcode" : r}</th>)}
          <th>Error rate</th>
          <th>Truncated</th>
          <th>Timeouts</th>
          <th>TCP</th>
          <th title="upper bounds of the latency histogram's buckets holding them">p50 / p95 / p99</th>
          <th>Mean</th>
        </tr>
      </thead>
      <tbody>
        {ordered(props.rows, props.perPod).map((row) => {
          const s = row.summary;
          const types = DNS_QTYPES.filter((t) => s.queries[t] > 0);
          const failing = s.errors + s.timeouts > 0;
          return (
            <tr class={failing ? "failing" : undefined}>
              {props.perPod &&
                <PodCell pod={row.pod} />}
              <ServerCell row={row} />
              <td>
                {formatCount(s.queriesTotal)}
                {types.length > 0 && (
                  <span class="sub">{types.map((t) => `${t} ${formatCount(s.queries[t])}`).join(" · ")}</span>
                )}
              </td>
              {DNS_RCODES.map((r) => (
                <td class={r !== "NOERROR" && s.responses[r] > 0 ? "bad" : undefined}>{formatCount(s.responses[r])}</td>
              ))}
              <td
                class={s.errors > 0 ? "bad" : undefined}
                title={`${formatCount(s.errors)} of ${formatCount(s.responsesTotal)} answers not NOERROR`}
              >
                {formatPercent(s.errors, s.responsesTotal)}
              </td>
              <td>{formatCount(s.truncated)}</td>
              <td class={s.timeouts > 0 ? "bad" : undefined}>{formatCount(s.timeouts)}</td>
              <td>{formatCount(s.tcp)}</td>
              <td title={`${formatCount(s.latency.answered)} answers matched to their query`}>
                {quantileText(s.latency.p50Us, s.latency.answered)} /{" "}
                {quantileText(s.latency.p95Us, s.latency.answered)} /{" "}
                {quantileText(s.latency.p99Us, s.latency.answered)}
              </td>
              <td>{usText(s.latency.meanUs)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function DnsNameTables(props: { lists: readonly DnsNamesView[]; perPod: boolean }) {
  if (props.lists.length === 0) return null;
  return (
    <div class="dns-names">
      <DnsNameTable lists={props.lists} perPod={props.perPod} by="byQueries" title="Names asked most" />
      <DnsNameTable lists={props.lists} perPod={props.perPod} by="byNxdomain" title="Names answered NXDOMAIN most" />
    </div>
  );
}

function NameCell(props: { n: DnsNameSum }) {
  if (props.n.name !== DNS_OTHER_NAME) return <td class="name">{props.n.name}</td>;
  return (
    <td class="name">
      {props.n.name}
      <span class="sub">names over the agent's caps, summed: totals stay exact</span>
    </td>
  );
}

function DnsNameTable(props: {
  lists: readonly DnsNamesView[];
  perPod: boolean;
  by: "byQueries" | "byNxdomain";
  title: string;
}) {
  const rows = props.lists.flatMap((l) => l[props.by].map((n) => ({ pod: l.pod, n })));
  return (
    <table class="dns-names">
      <caption>{props.title}</caption>
      <thead>
        <tr>
          {props.perPod && <th>Pod</th>}
          <th>Name</th>
          <th>Queries</th>
          <th>NXDOMAIN</th>
        </tr>
      </thead>
      <tbody>
        {rows.length === 0 && (
          <tr>
            <td colspan={props.perPod ? 4 : 3} class="na">none</td>
          </tr>
        )}
        {rows.map(({ pod, n }) => (
          <tr>
            {props.perPod && <PodCell pod={pod} />}
            <NameCell n={n} />
            <td>{formatCount(n.queries)}</td>
            <td class={n.nxdomain > 0 ? "bad" : undefined}>{formatCount(n.nxdomain)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
