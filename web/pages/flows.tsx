// SPDX-License-Identifier: Apache-2.0
/**
 * `/flows`: the flow explorer. Every flow of the cluster over a window
 * (control/queries/monitoring/flow-explorer.ts) with the API's filters as a
 * form, sortable headers, pages of FLOW_PAGE_SIZE rows and a verdict per
 * row. Everything is a query parameter of the page (the API's names), so a
 * view is a link; htmx swaps only the results (#flow-results, from
 * /fragments/flows with the same query) and pushes the page's URL.
 *
 * Live refresh: #flow-results polls itself every few seconds while the
 * "refresh" box is ticked and the tab is visible (a hidden tab costs no
 * queries). A live stream mode (SSE) plugs in beside it: FlowsPage takes a
 * `live` slot for its control, and streamed rows render with FlowTableRow
 * into the table body #flow-rows.
 */
import type { Child } from "hono/jsx";
import type {
  ExplorerFlow,
  FlowExplorerResult,
  FlowPage,
  FlowSort,
  FlowVerdict,
} from "../../control/queries/monitoring/flow-explorer.ts";
import type { Window } from "../../control/monitoring/rollup.ts";
import { IPPROTO } from "../../control/monitoring/names.ts";
import { avgSrttUs } from "../../control/monitoring/tcp.ts";
import { Layout, type Session } from "../components/layout.tsx";
import { MONITORING_POLL_SECONDS } from "../components/live.tsx";
import { ScrollRegion } from "../components/scroll-region.tsx";
import { Time } from "../components/time.tsx";
import { WindowLinks, WindowNote } from "../components/window-links.tsx";
import { TotalCell } from "../components/traffic-cells.tsx";
import { formatBytes, formatCount, formatCountOf, formatNanos, MISSING } from "../format.ts";
import { EndpointCell, protoName, tcpFlagNames } from "../monitoring/tables.tsx";

export const FLOWS_PATH = "/flows";
export const FLOWS_FRAGMENT_PATH = "/fragments/flows";
/** The element htmx swaps (outerHTML) and that polls; its id is also how the server tells a poll from a change. */
export const FLOW_RESULTS_ID = "flow-results";
/** The table body: where a live stream appends FlowTableRows. */
export const FLOW_ROWS_ID = "flow-rows";
export const FLOW_REFRESH_ID = "flow-refresh";
/** Rows per page (the API's limit, smaller: a page is read by people). */
export const FLOW_PAGE_SIZE = 50;

/** The page's query parameters, as the API names them; `since` is the window. */
export const FLOW_PARAMS = [
  "node",
  "namespace",
  "pod",
  "service",
  "port",
  "protocol",
  "failures",
  "sort",
  "order",
  "limit",
  "offset",
  "since",
] as const;
export type FlowParams = Partial<Record<(typeof FLOW_PARAMS)[number], string>>;

/** The known, non-empty parameters of a request, as given. */
export function flowParamsOf(query: Record<string, string>): FlowParams {
  const out: FlowParams = {};
  for (const k of FLOW_PARAMS) if (query[k]?.trim()) out[k] = query[k]!.trim();
  return out;
}

/** `base` with `params` and `change` (undefined removes one), in FLOW_PARAMS order. */
export function flowsUrl(base: string, params: FlowParams, change: FlowParams = {}): string {
  const merged: FlowParams = { ...params, ...change };
  const p = new URLSearchParams();
  for (const k of FLOW_PARAMS) if (merged[k]) p.set(k, merged[k]!);
  const qs = p.toString();
  return qs ? `${base}?${qs}` : base;
}

export interface FlowsView {
  params: FlowParams;
  page: FlowPage;
  since: string;
  window: Window;
  result: FlowExplorerResult;
}

/** The whole page; `live`: a control placed beside the refresh box (the stream mode's toggle). */
export function FlowsPage(props: { view: FlowsView; session: Session; live?: Child }) {
  const { params, since, window } = props.view;
  return (
    <Layout title="Flows" session={props.session}>
      <div class="toolbar">
        <FlowWindowLinks params={params} since={since} />
        <label class="flow-refresh">
          <input type="checkbox" id={FLOW_REFRESH_ID} checked />
          {` refresh every ${MONITORING_POLL_SECONDS} s`}
        </label>
        <span id="flow-live">{props.live}</span>
      </div>
      <FlowFilter params={params} />
      <WindowNote since={since} window={window} />
      <FlowResults view={props.view} />
      <p class="meta">
        Verdicts come from the flow's TCP flags and its connections' TCP rows (refused, timed out, failed, reset, no
        reply). Drops are counted per pod and reason, not per flow, so no flow is marked dropped here: see a pod's page.
      </p>
    </Layout>
  );
}

const PROTOCOLS = [
  { value: "", label: "any protocol" },
  { value: "tcp", label: "TCP" },
  { value: "udp", label: "UDP" },
  { value: "icmp", label: "ICMP" },
];

/**
 * The filters: a GET form of the page (works without script); with htmx a
 * change reloads the results in place, from the first page, and the server
 * pushes the page's URL (HX-Push-Url).
 */
export function FlowFilter(props: { params: FlowParams }) {
  const p = props.params;
  const text = (name: keyof FlowParams, placeholder: string) => (
    <input type="text" name={name} value={p[name] ?? ""} placeholder={placeholder} aria-label={placeholder} />
  );
  const protocol = p.protocol ?? "";
  return (
    <form
      id="flow-filter"
      method="get"
      action={FLOWS_PATH}
      class="filter"
      hx-get={FLOWS_FRAGMENT_PATH}
      hx-target={`#${FLOW_RESULTS_ID}`}
      hx-swap="outerHTML"
      hx-trigger="change, submit"
    >
      {text("namespace", "namespace")}
      {text("pod", "pod (namespace/name)")}
      {text("service", "service (namespace/name)")}
      {text("node", "node")}
      {text("port", "port")}
      <select name="protocol" aria-label="protocol">
        {PROTOCOLS.map((o) => <option value={o.value} selected={o.value === protocol}>{o.label}</option>)}
        {PROTOCOLS.every((o) => o.value !== protocol) && <option value={protocol} selected>{protocol}</option>}
      </select>
      <label>
        <input type="checkbox" name="failures" value="true" checked={p.failures === "true"} />
        {" only failures"}
      </label>
      <FlowFilterState params={p} />
      <button type="submit">Filter</button>
    </form>
  );
}

/**
 * The window links, with the view's filters. `oob`: sent beside the results
 * of a change (a filter, a sort, a page), so the controls outside the results
 * follow the view (htmx swaps them by id, out of band).
 */
export function FlowWindowLinks(props: { params: FlowParams; since: string; oob?: boolean }) {
  return (
    <span id="flow-window" hx-swap-oob={props.oob ? "true" : undefined}>
      <WindowLinks
        since={props.since}
        href={(s) => flowsUrl(FLOWS_PATH, props.params, { since: s, offset: undefined })}
      />
    </span>
  );
}

/** The form's hidden part: what a filter change keeps of the view (sort, order, page size, window); `oob` as above. */
export function FlowFilterState(props: { params: FlowParams; oob?: boolean }) {
  const p = props.params;
  return (
    <span id="flow-filter-state" hx-swap-oob={props.oob ? "true" : undefined}>
      {(["sort", "order", "limit", "since"] as const).map((k) =>
        p[k] !== undefined && <input type="hidden" name={k} value={p[k]} />
      )}
    </span>
  );
}

/** The swapped and polled part: a count line, the table and the pager. */
export function FlowResults(props: { view: FlowsView }) {
  const { params, result, page } = props.view;
  return (
    <section
      class="panel"
      id={FLOW_RESULTS_ID}
      hx-get={flowsUrl(FLOWS_FRAGMENT_PATH, params)}
      hx-trigger={`every ${MONITORING_POLL_SECONDS}s [document.visibilityState === 'visible' && ` +
        `document.getElementById('${FLOW_REFRESH_ID}')?.checked]`}
      hx-swap="outerHTML"
    >
      <h3>
        {formatCountOf(result.total, "flow")}
        <span class="meta">
          {formatBytes(result.totals.bytes)} · {formatCount(result.totals.packets)} packets
        </span>
      </h3>
      {result.total === 0 ? <NoFlows params={params} /> : <FlowTable view={props.view} />}
      {result.total > 0 && <Pager params={params} page={page} total={result.total} shown={result.flows.length} />}
    </section>
  );
}

function NoFlows(props: { params: FlowParams }) {
  const filtered = FLOW_PARAMS.some((k) => k !== "since" && k !== "sort" && k !== "order" && props.params[k]);
  return (
    <p class="none">
      {filtered
        ? (
          <>
            No flow matches these filters in this window.{" "}
            <a href={flowsUrl(FLOWS_PATH, { since: props.params.since })}>
              Show all flows
            </a>
          </>
        )
        : "No flows in this window. Flows are counted in the kernel on pod veths by the flows module and reported " +
          "with each batch; check that the module is on, or widen the window."}
    </p>
  );
}

/** Columns; a column with sorts links each (the first is its label's, e.g. Total: bytes · packets). */
const HEADERS: { label: string; sorts?: { sort: FlowSort; label: string }[] }[] = [
  { label: "Verdict" },
  { label: "Source" },
  { label: "Destination" },
  { label: "Service" },
  { label: "Port" },
  { label: "Source → dest." },
  { label: "Dest. → source" },
  { label: "Total", sorts: [{ sort: "bytes", label: "bytes" }, { sort: "packets", label: "packets" }] },
  { label: "Connections" },
  { label: "Seen", sorts: [{ sort: "first_seen", label: "first" }, { sort: "last_seen", label: "last" }] },
];

/** A link that swaps the results (and pushes the page URL); a plain link without script. */
function SwapLink(
  props: { params: FlowParams; change: FlowParams; children: Child; rel?: string; "data-sort"?: FlowSort },
) {
  return (
    <a
      href={flowsUrl(FLOWS_PATH, props.params, props.change)}
      hx-get={flowsUrl(FLOWS_FRAGMENT_PATH, props.params, props.change)}
      hx-target={`#${FLOW_RESULTS_ID}`}
      hx-swap="outerHTML"
      rel={props.rel}
      data-sort={props["data-sort"]}
    >
      {props.children}
    </a>
  );
}

/** Sorts by `sort`: a new one starts with the most (or latest) first, the active one flips; from the first page. */
function SortLink(props: { params: FlowParams; page: FlowPage; sort: FlowSort; label: string }) {
  const { page, sort } = props;
  const active = page.sort === sort;
  const order = active && page.order === "desc" ? "asc" : "desc";
  return (
    <SwapLink params={props.params} change={{ sort, order, offset: undefined }} data-sort={sort}>
      {props.label}
      {active ? (page.order === "asc" ? " ▲" : " ▼") : ""}
    </SwapLink>
  );
}

/** Ten columns: at a laptop's width they scroll in their own region (the names wrap first), not the page. */
export function FlowTable(props: { view: Pick<FlowsView, "params" | "page" | "result"> }) {
  const { params, page, result } = props.view;
  return (
    <ScrollRegion name="flows">
      <table class="flows explorer">
        <thead>
          <tr>
            {HEADERS.map((h) => {
              if (h.sorts === undefined) return <th>{h.label}</th>;
              const active = h.sorts.find((x) => x.sort === page.sort) !== undefined;
              return (
                <th aria-sort={active ? (page.order === "asc" ? "ascending" : "descending") : undefined}>
                  {h.label} {h.sorts.map((x, i) => (
                    <>
                      {i > 0 && " · "}
                      <SortLink params={params} page={page} sort={x.sort} label={x.label} />
                    </>
                  ))}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody id={FLOW_ROWS_ID}>
          {result.flows.map((f) => <FlowTableRow flow={f} />)}
        </tbody>
      </table>
    </ScrollRegion>
  );
}

const VERDICT_TEXT: Record<FlowVerdict, string> = {
  refused: "refused",
  timed_out: "timed out",
  failed: "failed",
  reset: "reset",
  no_reply: "no reply",
  ok: "ok",
};

const VERDICT_HINT: Record<FlowVerdict, string> = {
  refused: "a connection attempt was refused (RST to the SYN)",
  timed_out: "a connection attempt timed out",
  failed: "a connection attempt failed otherwise",
  reset: "an RST was seen on this flow",
  no_reply: "TCP packets went to the destination and none came back",
  ok: "no failure seen",
};

/** One flow as a table row (the columns of FlowTable): the explorer's, and a live stream's. */
export function FlowTableRow(props: { flow: ExplorerFlow }) {
  const f = props.flow;
  const c = f.connections;
  const srtt = avgSrttUs(c);
  const failed = f.verdict !== "ok";
  return (
    <tr class={failed ? "failing" : undefined} data-verdict={f.verdict}>
      <td>
        <span class={`verdict verdict-${f.verdict}`} title={VERDICT_HINT[f.verdict]}>{VERDICT_TEXT[f.verdict]}</span>
      </td>
      <EndpointCell e={f.client} />
      <EndpointCell e={f.server} />
      {f.service ? <EndpointCell e={f.service} /> : <td class="na">{MISSING}</td>}
      <td title="the TCP flags seen on the flow, below">
        {f.port}/{protoName(f.proto)}
        {f.proto === IPPROTO.TCP && <span class="sub">{tcpFlagNames(f.tcpFlags) || "no flags"}</span>}
      </td>
      <TotalCell bytes={f.fwdBytes} packets={f.fwdPackets} />
      <TotalCell bytes={f.revBytes} packets={f.revPackets} />
      <TotalCell bytes={f.fwdBytes + f.revBytes} packets={f.fwdPackets + f.revPackets} />
      <td
        title={`opened ${c.opened}, refused ${c.refused}, timed out ${c.timedOut}, failed ${c.failed}, resets ${c.resets}` +
          (srtt === null ? "" : `, average RTT ${formatNanos(Math.round(srtt * 1000))}`)}
      >
        {f.proto === IPPROTO.TCP ? formatCount(c.opened) : MISSING}
        {c.refused + c.timedOut + c.failed + c.resets > 0 && (
          <span class="sub">
            {[
              c.refused && `${formatCount(c.refused)} refused`,
              c.timedOut && `${formatCount(c.timedOut)} timed out`,
              c.failed && `${formatCount(c.failed)} failed`,
              c.resets && `${formatCount(c.resets)} ${c.resets === 1 ? "reset" : "resets"}`,
            ].filter(Boolean).join(" · ")}
          </span>
        )}
      </td>
      <td>
        <Time ms={f.lastSeen} format="time" />
        <span class="sub">
          since <Time ms={f.firstSeen} format="time" />
        </span>
      </td>
    </tr>
  );
}

/** "1–50 of 120" with previous and next pages. */
function Pager(props: { params: FlowParams; page: FlowPage; total: number; shown: number }) {
  const { params, page, total, shown } = props;
  const prev = Math.max(0, page.offset - page.limit);
  const next = page.offset + page.limit;
  const offsetParam = (o: number) => (o === 0 ? undefined : String(o));
  return (
    <nav class="pager" aria-label="pages">
      {page.offset > 0
        ? <SwapLink params={params} change={{ offset: offsetParam(prev) }} rel="prev">← previous</SwapLink>
        : <span class="meta">← previous</span>}
      <span class="meta pager-count">
        {shown === 0
          ? `none of ${formatCount(total)} past row ${formatCount(page.offset)}`
          : `${formatCount(page.offset + 1)}–${formatCount(page.offset + shown)} of ${formatCount(total)}`}
      </span>
      {next < total
        ? <SwapLink params={params} change={{ offset: String(next) }} rel="next">next →</SwapLink>
        : <span class="meta">next →</span>}
    </nav>
  );
}
