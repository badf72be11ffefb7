// SPDX-License-Identifier: Apache-2.0
/**
 * The /flows page's live mode: the flow rows of the batches this replica
 * stores, as they commit (control/flows-stream/), through htmx's SSE
 * extension, with the page's filters (node, namespace, pod, service, port,
 * protocol, failures), read-protected like the other pages:
 *   GET /fragments/flows/live   the results' place in live mode (#flow-results): the flow table, empty,
 *                               connected to the stream; newest rows first, the last LIVE_ROWS kept
 *   GET /flows/live             server-sent events: `event: flow`, data one FlowTableRow's HTML (id: the record's seq)
 * "Follow live" (LiveToggle, in the page's live slot) swaps the first in; "Stop", a filter, a sort or the page's
 * links swap the explorer's results back, and htmx closes the stream with the element it was on.
 */
import { Hono } from "hono";
import { type AccessSettings, requireReader } from "../control/auth/access.ts";
import { flowMatcher, FlowStreamQuery, rowVerdict } from "../control/flows-stream/filters.ts";
import type { FlowStreamHub } from "../control/flows-stream/hub.ts";
import { sseFormat, type StreamedFlow } from "../control/flows-stream/record.ts";
import { followerResponse } from "../control/flows-stream/response.ts";
import type { ExplorerFlow } from "../control/queries/monitoring/flow-explorer.ts";
import { validate } from "../control/http/validation.ts";
import { assetPath, HTMX_SSE_ASSET } from "./assets.ts";
import { denyPage } from "./deny.tsx";
import {
  FLOW_PAGE_SIZE,
  FLOW_RESULTS_ID,
  FLOW_ROWS_ID,
  type FlowParams,
  flowParamsOf,
  FLOWS_FRAGMENT_PATH,
  flowsUrl,
  FlowTable,
  FlowTableRow,
} from "./pages/flows.tsx";

export const FLOWS_LIVE_PATH = "/flows/live";
export const FLOWS_LIVE_FRAGMENT_PATH = "/fragments/flows/live";
/** Rows the live table keeps, newest first: older ones leave as new ones come. */
export const LIVE_ROWS = 200;
const WAITING_ID = "flow-live-waiting";

/** The page's parameters that filter the stream (the window, sorting and paging do not apply to it). */
const STREAM_PARAMS = ["node", "namespace", "pod", "service", "port", "protocol", "failures"] as const;
const streamParams = (p: FlowParams): FlowParams =>
  Object.fromEntries(STREAM_PARAMS.flatMap((k) => p[k] ? [[k, p[k]]] : []));

/** A streamed row as the explorer's: seen once, at its batch's time; what it shows of a failure (filters.ts). */
export function liveFlow(r: StreamedFlow): ExplorerFlow {
  const connections = { opened: 0, refused: 0, timedOut: 0, failed: 0, resets: 0, srttUsSum: 0, srttSamples: 0 };
  return { ...r.row, firstSeen: r.batch.ts, lastSeen: r.batch.ts, verdict: rowVerdict(r.row), connections };
}

/** Each record's row HTML, made once however many live pages follow it (let go with the record). */
const rowHtmls = new WeakMap<StreamedFlow, string>();

function rowHtml(r: StreamedFlow): string {
  let html = rowHtmls.get(r);
  if (html !== undefined) return html;
  const out = (<FlowTableRow flow={liveFlow(r)} />).toString();
  if (typeof out !== "string") throw new Error("FlowTableRow must render synchronously");
  rowHtmls.set(r, html = out);
  return html;
}

const LIVE_FORMAT = sseFormat(rowHtml);

export function flowLiveRoutes(hub: FlowStreamHub, { access }: { access: AccessSettings }): Hono {
  const routes = new Hono();
  const reader = requireReader(access, denyPage);
  const filter = (query: Record<string, string>) => validate(FlowStreamQuery, streamParams(flowParamsOf(query)));
  const refusal = (issues: { path: string; message: string }[]) =>
    issues.map((i) => `${i.path}: ${i.message}`).join("; ");

  routes.get(FLOWS_LIVE_PATH, reader, (c) => {
    const f = filter(c.req.query());
    if (!f.ok) return c.text(refusal(f.issues), 400);
    return followerResponse(c, hub, flowMatcher(f.data), LIVE_FORMAT);
  });

  routes.get(FLOWS_LIVE_FRAGMENT_PATH, reader, (c) => {
    const params = flowParamsOf(c.req.query());
    const f = filter(c.req.query());
    if (!f.ok) {
      return c.html(
        <section class="panel" id={FLOW_RESULTS_ID}>
          <p class="none">{refusal(f.issues)}</p>
        </section>,
        400,
      );
    }
    return c.html(<LiveResults params={params} />);
  });
  return routes;
}

/** In the page's live slot: the button that swaps the live table in, and htmx's SSE extension. */
export function LiveToggle(props: { params: FlowParams }) {
  return (
    <>
      <script src={assetPath(HTMX_SSE_ASSET)} defer></script>
      <LiveButton params={props.params} />
    </>
  );
}

/** "Follow live" with the view's filters; `oob`: sent beside the results of a change, to replace the page's. */
export function LiveButton(props: { params: FlowParams; oob?: boolean }) {
  return (
    <button
      type="button"
      id="flow-live-start"
      hx-get={flowsUrl(FLOWS_LIVE_FRAGMENT_PATH, props.params)}
      hx-target={`#${FLOW_RESULTS_ID}`}
      hx-swap="outerHTML"
      hx-swap-oob={props.oob ? "true" : undefined}
      title="show flow rows as the control plane stores them, newest first"
    >
      Follow live
    </button>
  );
}

/** The results' place in live mode: the flow table, its rows coming from the stream. */
export function LiveResults(props: { params: FlowParams }) {
  const { params } = props;
  const page = { sort: "last_seen", order: "desc", limit: FLOW_PAGE_SIZE, offset: 0 } as const;
  const result = { flows: [], total: 0, totals: { packets: 0, bytes: 0 } };
  // Newest first; past LIVE_ROWS the oldest leave; the waiting line goes with the first row.
  const trim = `document.getElementById('${WAITING_ID}')?.remove();` +
    `document.querySelectorAll('#${FLOW_ROWS_ID} > tr:nth-child(n+${LIVE_ROWS + 1})').forEach((r) => r.remove())`;
  return (
    <section
      class="panel live"
      id={FLOW_RESULTS_ID}
      hx-ext="sse"
      sse-connect={flowsUrl(FLOWS_LIVE_PATH, streamParams(params))}
    >
      <h3>
        {"Live "}
        <span class="meta">
          flow rows of each batch this control-plane replica stores, newest first (the last {LIVE_ROWS}{" "}
          kept); per batch, not summed over the window; connections are joined in the explorer, not here
        </span>{" "}
        <button
          type="button"
          id="flow-live-stop"
          hx-get={flowsUrl(FLOWS_FRAGMENT_PATH, params)}
          hx-target={`#${FLOW_RESULTS_ID}`}
          hx-swap="outerHTML"
        >
          Stop
        </button>
      </h3>
      <div hidden sse-swap="flow" hx-target={`#${FLOW_ROWS_ID}`} hx-swap="afterbegin" hx-on--sse-message={trim} />
      <FlowTable view={{ params, page, result }} />
      <p class="none" id={WAITING_ID}>Waiting for the next batch…</p>
    </section>
  );
}
