// SPDX-License-Identifier: Apache-2.0
/**
 * Tables of the data-monitoring pages: pods with RX/TX, flows, TCP health
 * and drops. Each explains an empty table (nothing reported, or nothing
 * matches the filter) and shows human units with exact numbers on hover.
 * Sorting and filtering of the pod table are plain query parameters, so
 * every view is a link.
 */
import type { Child } from "hono/jsx";
import type { ListPage } from "../../control/queries/list-page.ts";
import {
  POD_SORTS,
  POD_STATES,
  type PodListQuery,
  type PodListRow,
  type PodSort,
  type PodState,
  selectPods,
} from "../../control/queries/monitoring/pod-list.ts";
import { endpointLabel, type StoredEndpoint } from "../../control/monitoring/attribution.ts";
import type { DropRow } from "../../control/monitoring/drops.ts";
import type { FlowRow } from "../../control/monitoring/flows.ts";
import { protoName, tcpFlagNames } from "../../control/monitoring/names.ts";
import { avgDurationMs, avgSrttUs, failures, type TcpRow } from "../../control/monitoring/tcp.ts";
import { formatCount, formatNanos, MISSING } from "../format.ts";
import { ListFilter, offsetParam } from "../components/list-nav.tsx";
import { ScrollRegion } from "../components/scroll-region.tsx";
import { servicePath } from "../components/service-form.tsx";
import { TotalCell, TrafficCells } from "../components/traffic-cells.tsx";
import { ReasonCell, ReasonLegend } from "./drop-reasons.tsx";

/* ---------- shared ---------- */

/** Defined with the API's names in control/monitoring/names.ts; re-exported for the pages' callers. */
export { protoName, tcpFlagNames };

/** A pod's page. */
export function podPath(p: { namespace: string; name: string }): string {
  return `/pods/${encodeURIComponent(p.namespace)}/${encodeURIComponent(p.name)}`;
}

/** An endpoint as a cell: a pod or a service links to its page; `sub` replaces the line saying what it is. */
export function EndpointCell(props: { e: StoredEndpoint; sub?: Child }) {
  const { e } = props;
  if (e.kind === "pod" && e.name !== "") {
    return (
      <td>
        <a href={podPath(e)}>{endpointLabel(e)}</a>
        <span class="sub">{props.sub ?? `pod on ${e.node}`}</span>
      </td>
    );
  }
  if (e.kind === "service") {
    return (
      <td>
        <a href={servicePath(e)}>{endpointLabel(e)}</a>
        <span class="sub">{props.sub ?? "service"}</span>
      </td>
    );
  }
  const what = e.kind === "pod"
    ? "pod no longer listed"
    : e.kind === "world"
    ? "outside the pods"
    : "keys over the cap";
  return (
    <td>
      {endpointLabel(e)}
      <span class="sub">{props.sub ?? what}</span>
    </td>
  );
}

/* ---------- pods ---------- */

/** The filter, the sort and the page live in control/queries/monitoring/pod-list.ts; re-exported for the pages. */
export { POD_SORTS, POD_STATES, type PodSort, type PodState, selectPods };
export type PodView = PodListRow;
export type PodQuery = PodListQuery;

/** From query parameters; anything unknown falls back to the default (namespace, ascending, the first page). */
export function parsePodQuery(params: URLSearchParams | Record<string, string | undefined>): PodQuery {
  const get = (k: string) => {
    const v = params instanceof URLSearchParams ? params.get(k) : params[k];
    return v === null || v === undefined || v.trim() === "" ? undefined : v.trim();
  };
  const sort = (POD_SORTS as readonly string[]).includes(get("sort") ?? "") ? (get("sort") as PodSort) : "namespace";
  const numeric = sort !== "namespace" && sort !== "name" && sort !== "node";
  const dir = get("dir") === "asc" || get("dir") === "desc" ? (get("dir") as "asc" | "desc") : numeric ? "desc" : "asc";
  const state = (POD_STATES as readonly string[]).includes(get("state") ?? "") ? (get("state") as PodState) : undefined;
  return { sort, dir, q: get("q"), namespace: get("namespace"), node: get("node"), state, offset: offsetParam(get) };
}

/** The query string of a view: filters, sort and page (the first page without an offset). */
export function podQueryString(q: PodQuery, change: Partial<PodQuery> = {}): string {
  const merged = { ...q, ...change };
  const p = new URLSearchParams();
  for (const k of ["q", "namespace", "node", "state", "sort", "dir"] as const) if (merged[k]) p.set(k, merged[k]!);
  if (merged.offset > 0) p.set("offset", String(merged.offset));
  return `?${p.toString()}`;
}

function SortHeader(props: { label: string; sort: PodSort; query: PodQuery; base: string }) {
  const { query, sort } = props;
  const active = query.sort === sort;
  const numeric = sort !== "namespace" && sort !== "name" && sort !== "node";
  const dir = active ? (query.dir === "asc" ? "desc" : "asc") : numeric ? "desc" : "asc";
  return (
    <th aria-sort={active ? (query.dir === "asc" ? "ascending" : "descending") : undefined}>
      <a href={`${props.base}${podQueryString(query, { sort, dir, offset: 0 })}`}>
        {props.label}
        {active ? (query.dir === "asc" ? " ▲" : " ▼") : ""}
      </a>
    </th>
  );
}

/** The filter form: a GET to the same page (from its first page), keeping the sort; `region` is swapped in place. */
export function PodFilter(props: { query: PodQuery; base: string; region?: string }) {
  const { query } = props;
  return (
    <ListFilter action={props.base} region={props.region}>
      <input type="search" name="q" value={query.q ?? ""} placeholder="name or IP" aria-label="name or IP" />
      <input
        type="text"
        name="namespace"
        value={query.namespace ?? ""}
        placeholder="namespace"
        aria-label="namespace"
      />
      <input type="text" name="node" value={query.node ?? ""} placeholder="node" aria-label="node" />
      <select name="state" aria-label="state">
        <option value="" selected={!query.state}>any state</option>
        {POD_STATES.map((s) => <option value={s} selected={query.state === s}>{s}</option>)}
      </select>
      <input type="hidden" name="sort" value={query.sort} />
      <input type="hidden" name="dir" value={query.dir} />
    </ListFilter>
  );
}

/** `page`: the pods of this page (filtered and sorted); `listed`: how many are listed before the filter. */
export function PodTable(
  props: { page: ListPage<PodView>; listed: number; query: PodQuery; base?: string; now?: number },
) {
  const base = props.base ?? "/pods";
  if (props.listed === 0) {
    return (
      <p class="none">
        No pods reported. Agents list the pods of their node (from the Kubernetes API, or the lab) with the flows module
        on; pods that vanished are kept for a grace period, then dropped.
      </p>
    );
  }
  const rows = props.page.rows;
  if (rows.length === 0) {
    return (
      <p class="none">
        No pod matches this filter ({formatCount(props.listed)} pods in all). <a href={base}>Show all pods</a>
      </p>
    );
  }
  const h = (label: string, sort: PodSort) => <SortHeader label={label} sort={sort} query={props.query} base={base} />;
  return (
    <table class="pods">
      <thead>
        <tr>
          {h("Namespace", "namespace")}
          {h("Name", "name")}
          {h("Node", "node")}
          <th>IPs</th>
          {h("RX rate", "rxRate")}
          {h("TX rate", "txRate")}
          {h("RX total", "rx")}
          {h("TX total", "tx")}
          {h("Drops", "drops")}
        </tr>
      </thead>
      <tbody>
        {rows.map((p) => (
          <tr class={p.vanishedAt !== undefined ? "vanished" : undefined}>
            <td>{p.namespace}</td>
            <td>
              <a href={podPath(p)}>{p.name}</a>
              {p.vanishedAt !== undefined && (
                <span class="sub">
                  vanished{props.now !== undefined
                    ? ` ${Math.max(0, Math.floor((props.now - p.vanishedAt) / 1000))} s ago`
                    : ""}
                </span>
              )}
            </td>
            <td>{p.node}</td>
            <td>{p.ips.length ? p.ips.join(", ") : MISSING}</td>
            <TrafficCells rates={p.rates} totals={p} />
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/* ---------- flows ---------- */

export interface FlowFilters {
  node?: string;
  /** "namespace/name" */
  pod?: string;
  /** Human description of the window start, e.g. "the last 5 min". */
  since?: string;
}

/** " for node a, pod ns/name, since …", or "" without filters. */
export function filterText(f: FlowFilters): string {
  const parts = [f.node && `node ${f.node}`, f.pod && `pod ${f.pod}`, f.since && `since ${f.since}`].filter(Boolean);
  return parts.length ? ` for ${parts.join(", ")}` : "";
}

/** Flow statistics rows (summed over the window): client → server, per direction. */
export function FlowTable(props: { flows: readonly FlowRow[]; filters?: FlowFilters }) {
  const filters = props.filters ?? {};
  if (props.flows.length === 0) {
    return (
      <p class="none">
        No flows{filterText(filters)}. Flows are counted in the kernel on pod veths by the flows module, and reported
        with each batch; check that the module is on for the node, or widen the window.
      </p>
    );
  }
  return (
    <table class="flows">
      <thead>
        <tr>
          <th>Client</th>
          <th>Server</th>
          <th>Port</th>
          <th>Client → server</th>
          <th>Server → client</th>
          <th>TCP flags</th>
        </tr>
      </thead>
      <tbody>
        {props.flows.map((f) => (
          <tr>
            <EndpointCell e={f.client} />
            <EndpointCell e={f.server} />
            <td>
              {f.port}/{protoName(f.proto)}
            </td>
            <TotalCell bytes={f.fwdBytes} packets={f.fwdPackets} />
            <TotalCell bytes={f.revBytes} packets={f.revPackets} />
            <td>{f.proto === 6 ? tcpFlagNames(f.tcpFlags) || MISSING : MISSING}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/* ---------- TCP ---------- */

export const usText = (us: number | null) => (us === null ? MISSING : formatNanos(Math.round(us * 1000)));
const msText = (ms: number | null) => (ms === null ? MISSING : formatNanos(Math.round(ms * 1_000_000)));

/** Why a row's role is unknown (bpf/tcp.bpf.c: the socket's role is learnt as it is established). */
const UNKNOWN_ROLE = "the kernel did not see this connection open (it predates the tcp module, or the socket is " +
  "a listener or in TIME_WAIT), so its side is unknown; the port is the remote one. Also the summed other rows";

export function TcpTable(props: { rows: readonly TcpRow[]; filters?: FlowFilters }) {
  if (props.rows.length === 0) {
    return (
      <p class="none">
        No TCP activity{filterText(props.filters ?? {})}. Connections, failures, retransmits, resets and RTT come from
        kernel tracepoints when the tcp module is on.
      </p>
    );
  }
  // Eleven columns: short headers (the long name on hover) and wrapping endpoints fit them in a laptop's width; a
  // narrower window scrolls the table sideways in its own region, which keeps its place across refreshes.
  return (
    <ScrollRegion name="tcp">
      <table class="tcp">
        <thead>
          <tr>
            <th>Local</th>
            <th>Remote</th>
            <th>Port</th>
            <th>Role</th>
            <th>Opened</th>
            <th>Failed</th>
            <th>Closed</th>
            <th title="average duration of the closed connections">Avg dur.</th>
            <th title="retransmitted segments">Retrans.</th>
            <th title="resets received / sent">RST in/out</th>
            <th title="average smoothed round-trip time">Avg RTT</th>
          </tr>
        </thead>
        <tbody>
          {props.rows.map((r) => {
            const failed = failures(r);
            return (
              <tr class={failed > 0 ? "failing" : undefined}>
                <EndpointCell e={r.local} />
                <EndpointCell e={r.remote} />
                <td>{r.port}</td>
                <td title={r.role === "unknown" ? UNKNOWN_ROLE : undefined}>{r.role}</td>
                <td>{formatCount(r.opened)}</td>
                <td
                  class={failed > 0 ? "bad" : undefined}
                  title={`refused ${r.failedRefused}, timed out ${r.failedTimeout}, other ${r.failedOther}`}
                >
                  {formatCount(failed)}
                  {failed > 0 && (
                    <span class="sub">
                      {formatCount(r.failedRefused)} refused · {formatCount(r.failedTimeout)} timed out ·{" "}
                      {formatCount(r.failedOther)} other
                    </span>
                  )}
                </td>
                <td>{formatCount(r.closed)}</td>
                <td>{msText(avgDurationMs(r))}</td>
                <td>{formatCount(r.retransmits)}</td>
                <td>
                  {formatCount(r.resetsRx)} / {formatCount(r.resetsTx)}
                </td>
                <td title={`${formatCount(r.srttSamples)} samples`}>{usText(avgSrttUs(r))}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </ScrollRegion>
  );
}

/* ---------- drops ---------- */

/** The rows, then what their reasons mean. */
export function DropTable(props: { rows: readonly DropRow[]; filters?: FlowFilters }) {
  if (props.rows.length === 0) return <DropRows {...props} />;
  return (
    <>
      <DropRows {...props} />
      <ReasonLegend rows={props.rows} />
    </>
  );
}

function DropRows(props: { rows: readonly DropRow[]; filters?: FlowFilters }) {
  if (props.rows.length === 0) {
    return (
      <p class="none">
        No drops{filterText(props.filters ?? {})}. The drops module reports every packet the kernel frees as dropped
        (skb:kfree_skb), with the kernel's reason; none were reported here.
      </p>
    );
  }
  return (
    <table class="drops">
      <thead>
        <tr>
          <th>Node</th>
          <th>Pod</th>
          <th>Interface</th>
          <th>Reason</th>
          <th>Service</th>
          <th>Dropped</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((d) => (
          <tr>
            <td>{d.node}</td>
            {d.pod ? <EndpointCell e={d.pod} /> : <td class="na">the node's own</td>}
            <td>{d.ifname ?? MISSING}</td>
            <ReasonCell reason={d.reason} />
            {d.service ? <EndpointCell e={d.service} /> : <td class="na">{MISSING}</td>}
            <TotalCell bytes={d.bytes} packets={d.packets} />
          </tr>
        ))}
      </tbody>
    </table>
  );
}
