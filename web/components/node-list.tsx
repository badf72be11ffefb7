// SPDX-License-Identifier: Apache-2.0
/**
 * The overview's body, which htmx re-fetches from /fragments/nodes (same
 * query) and swaps in place: cluster totals, a page of nodes, one row each
 * (status, pods, RX/TX rate now, the last hour as a sparkline), sorted by
 * any column (?sort=, worst status first by default), narrowed to the
 * nodes whose name contains a text (?q=, from NodeSearch) and paged
 * (?page=), and the pods talking most right now. One row per node rather
 * than a card, and fifty a page, so five thousand nodes stay readable and
 * the page light; a node's interfaces are on its page.
 */
import type { Child } from "hono/jsx";
import {
  type ClusterOverview,
  type ClusterTotals,
  DEFAULT_OVERVIEW_QUERY,
  NODES_PER_PAGE,
  OVERVIEW_SORTS,
  type OverviewQuery,
  type OverviewSort,
} from "../../control/queries/overview.ts";
import type { PodRecord } from "../../control/queries/monitoring/pods.ts";
import { formatCount, formatCountOf } from "../format.ts";
import { podPath } from "../monitoring/tables.tsx";
import { Panel } from "./panel.tsx";
import { Sparkline } from "./sparkline.tsx";
import { NodeFacts, StatusBadge } from "./status.tsx";
import { RateCell } from "./traffic-cells.tsx";

export interface NodeListProps {
  overview: ClusterOverview;
  controlUrl: string;
  /** Shown beside a node's status (e.g. its active alerts); nothing when absent. */
  badge?: (node: string) => Child;
  /** Shown above the totals (the active alerts), refreshed with them. */
  banner?: Child;
  /** Shown below the banner: the line about recent ingest overload (SheddingLine), if any. */
  load?: Child;
  /** Shown at the end, also with no nodes: which replica runs the once-only work (LeaseLine). */
  status?: Child;
}

export function NodeList(props: NodeListProps) {
  const { overview } = props;
  if (overview.totals.nodes === 0) {
    return (
      <>
        <EmptyState controlUrl={props.controlUrl} />
        {props.status}
      </>
    );
  }
  return (
    <>
      {props.banner}
      {props.load}
      <Totals totals={overview.totals} />
      <Panel
        title="Nodes"
        meta="RX/TX now: the interfaces each node's agent watches (named in the row), summed; a packet crossing two counts on both"
      >
        <NodeTable overview={overview} badge={props.badge} />
        <Pager overview={overview} />
        <p class="note">
          A node's RX/TX counts only its watched interfaces (e.g. eth0, cni0): traffic between pods of the same node
          crosses none of them, so a pod can receive more than its node shows. Pods' own traffic is on their pages.
        </p>
      </Panel>
      <Panel title="Top pods by rate now" meta="bytes per second received + sent, from each node's last two reports">
        <TalkerTable pods={overview.talkers} />
      </Panel>
      {props.status}
    </>
  );
}

export function nodePath(name: string): string {
  return `/nodes/${encodeURIComponent(name)}`;
}

/** The longest text ?q= takes: a node name's longest (an RFC 1123 subdomain); a longer one finds everything. */
const FIND_MAX = 253;

/** ?q=, ?sort= and ?page= as the overview takes them; anything else is the default. */
export function parseOverviewQuery(params: Record<string, string | undefined>): OverviewQuery {
  const sort = (OVERVIEW_SORTS as readonly string[]).includes(params.sort ?? "")
    ? (params.sort as OverviewSort)
    : DEFAULT_OVERVIEW_QUERY.sort;
  const page = /^\d{1,6}$/.test(params.page ?? "") ? Math.max(1, Number(params.page)) : 1;
  const text = (params.q ?? "").trim().toLowerCase();
  return { sort, page, find: text.length <= FIND_MAX ? text : "" };
}

/** "?q=web&sort=rx&page=2", leaving out what is the default. */
export function overviewQueryString(q: OverviewQuery): string {
  const p = new URLSearchParams();
  if (q.find !== "") p.set("q", q.find);
  if (q.sort !== DEFAULT_OVERVIEW_QUERY.sort) p.set("sort", q.sort);
  if (q.page > 1) p.set("page", String(q.page));
  const text = p.toString();
  return text === "" ? "" : `?${text}`;
}

function Totals(props: { totals: ClusterTotals }) {
  const t = props.totals;
  return (
    <section class="totals" aria-label="cluster totals">
      <div>
        <span class="big">{formatCount(t.nodes)}</span> {t.nodes === 1 ? "node" : "nodes"}
        <span class="sub">
          <span class="status-ready">{formatCount(t.byStatus.Ready)} Ready</span> ·{" "}
          <span class="status-stale">{formatCount(t.byStatus.Stale)} Stale</span> ·{" "}
          <span class="status-lost">{formatCount(t.byStatus.Lost)} Lost</span>
        </span>
      </div>
      <div>
        <span class="big">{formatCount(t.pods)}</span> {t.pods === 1 ? "pod" : "pods"}
        <span class="sub">current, on every node</span>
      </div>
      <table class="rates">
        <tbody>
          <tr>
            <th>RX now</th>
            <RateCell bytesPerSec={t.rates.rxBytesPerSec} packetsPerSec={t.rates.rxPacketsPerSec} />
          </tr>
          <tr>
            <th>TX now</th>
            <RateCell bytesPerSec={t.rates.txBytesPerSec} packetsPerSec={t.rates.txPacketsPerSec} />
          </tr>
        </tbody>
      </table>
    </section>
  );
}

/**
 * Finds nodes by a part of their name: a GET to the overview, keeping the
 * order. Outside the region htmx refreshes, so a refresh never replaces
 * what is being typed.
 */
export function NodeSearch(props: { query: OverviewQuery }) {
  const { query } = props;
  return (
    <form method="get" action="/" class="filter" role="search">
      <input type="search" name="q" value={query.find} placeholder="node name" aria-label="find nodes by name" />
      <input type="hidden" name="sort" value={query.sort} />
      <button type="submit">Find</button>
      {query.find !== "" && <a href={everyNode(query)}>every node</a>}
    </form>
  );
}

/** The overview in the same order without the search. */
const everyNode = (query: OverviewQuery) => `/${overviewQueryString({ ...query, find: "", page: 1 })}`;

/** A column header that sorts by it (from the first page), keeping the search. */
function SortHeader(props: { label: string; sort: OverviewSort; current: OverviewQuery }) {
  const active = props.sort === props.current.sort;
  return (
    <th aria-sort={active ? (props.sort === "name" ? "ascending" : "descending") : undefined}>
      <a href={`/${overviewQueryString({ ...props.current, sort: props.sort, page: 1 })}`}>
        {props.label}
        {active ? (props.sort === "name" ? " ▲" : " ▼") : ""}
      </a>
    </th>
  );
}

function NodeTable(props: { overview: ClusterOverview; badge?: NodeListProps["badge"] }) {
  const { nodes, spark, query, totals } = props.overview;
  if (nodes.length === 0) {
    return (
      <p class="none">
        No node name contains “{query.find}” ({formatCountOf(totals.nodes, "node")} in all).{" "}
        <a href={everyNode(query)}>Show every node</a>
      </p>
    );
  }
  const h = (label: string, sort: OverviewSort) => <SortHeader label={label} sort={sort} current={query} />;
  return (
    <table class="nodes">
      <thead>
        <tr>
          {h("Node", "name")}
          {h("Status", "status")}
          {h("Pods", "pods")}
          {h("RX rate", "rx")}
          {h("TX rate", "tx")}
          <th title={COVERS_TITLE}>Counted on</th>
          <th>
            Last hour{" "}
            <span class="spark-key">
              <span class="spark-rx">RX</span> <span class="spark-tx">TX</span>
            </span>
          </th>
        </tr>
      </thead>
      <tbody>
        {nodes.map((node) => (
          <tr>
            <td>
              <a href={nodePath(node.name)}>{node.name}</a>
              <span class="sub">
                <NodeFacts node={node} />
              </span>
            </td>
            <td>
              <StatusBadge node={node} />
              {props.badge?.(node.name)}
            </td>
            <td>{formatCount(node.pods)}</td>
            <RateCell bytesPerSec={node.rates.rxBytesPerSec} packetsPerSec={node.rates.rxPacketsPerSec} />
            <RateCell bytesPerSec={node.rates.txBytesPerSec} packetsPerSec={node.rates.txPacketsPerSec} />
            <CoversCell ifnames={node.ifnames} />
            <td class="spark-cell">
              <Sparkline points={node.spark} window={spark} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const COVERS_TITLE = "the interfaces whose RX/TX the node's rates sum (those its agent watches, --interfaces); " +
  "traffic between pods of the same node crosses none of them";

/** The interfaces a node's RX/TX covers; past a few, the rest in the title. */
const COVERS_SHOWN = 3;

function CoversCell(props: { ifnames: string[] }) {
  const { ifnames } = props;
  if (ifnames.length === 0) return <td class="covers na">no interface</td>;
  const more = ifnames.length - COVERS_SHOWN;
  return (
    <td class="covers text" title={ifnames.join(", ")}>
      {ifnames.slice(0, COVERS_SHOWN).join(", ")}
      {more > 0 && ` +${formatCount(more)} more`}
    </td>
  );
}

/**
 * "Nodes 51–100 of 1,000 · ← previous · next →" when there is more than one
 * page; with a search, also on one page: "… of 12 whose name contains “web”".
 */
function Pager(props: { overview: ClusterOverview }) {
  const { query, pages, offset, nodes, matching } = props.overview;
  if (nodes.length === 0 || (pages <= 1 && query.find === "")) return null;
  const to = (page: number) => `/${overviewQueryString({ ...query, page })}`;
  return (
    <nav class="pager note" aria-label="pages of nodes">
      Nodes {formatCount(offset + 1)}–{formatCount(offset + nodes.length)} of {formatCount(matching)}
      {query.find !== "" && <>{" whose name contains “"}{query.find}”</>}
      {query.page > 1 && (
        <>
          {" · "}
          <a href={to(query.page - 1)} rel="prev">
            ← previous
          </a>
        </>
      )}
      {query.page < pages && (
        <>
          {" · "}
          <a href={to(query.page + 1)} rel="next">
            next →
          </a>
        </>
      )}
      <span class="meta">{" · "}{formatCount(NODES_PER_PAGE)} a page</span>
    </nav>
  );
}

function TalkerTable(props: { pods: readonly PodRecord[] }) {
  if (props.pods.length === 0) {
    return (
      <p class="none">
        No pod is sending or receiving right now. Pod rates come from each node's last two reports, with the flows
        module on; the <a href="/servicemap">service map</a> has top talkers over longer windows.
      </p>
    );
  }
  return (
    <table class="talkers">
      <thead>
        <tr>
          <th>Pod</th>
          <th>Node</th>
          <th>RX rate</th>
          <th>TX rate</th>
        </tr>
      </thead>
      <tbody>
        {props.pods.map((p) => (
          <tr>
            <td>
              <a href={podPath(p)}>
                {p.namespace}/{p.name}
              </a>
            </td>
            <td>
              <a href={nodePath(p.node)}>{p.node}</a>
            </td>
            <RateCell bytesPerSec={p.rates.rxBytesPerSec} packetsPerSec={p.rates.rxPacketsPerSec} />
            <RateCell bytesPerSec={p.rates.txBytesPerSec} packetsPerSec={p.rates.txPacketsPerSec} />
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function EmptyState(props: { controlUrl: string }) {
  return (
    <div class="empty">
      <p>
        No agent has reported yet. Agents join with a join token, which an admin makes (the admin token was printed when
        this control plane first started, unless EBPF_K8S_ADMIN_TOKEN set it):
      </p>
      <pre>
        <code>{`curl -s -X POST -H "Authorization: Bearer $ADMIN_TOKEN" ${props.controlUrl}/api/v1/join-tokens`}</code>
      </pre>
      <p>Then start an agent on each node with the token from that answer:</p>
      <pre>
        <code>EBPF_K8S_JOIN_TOKEN=TOKEN deno task agent --control {props.controlUrl} --node NAME --interfaces IF</code>
      </pre>
    </div>
  );
}
