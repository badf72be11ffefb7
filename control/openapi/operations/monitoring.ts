// SPDX-License-Identifier: Apache-2.0
/** The monitoring read API (control/routes/monitoring.ts, flows-stream.ts). */
import { FlowStreamQuery } from "../../flows-stream/filters.ts";
import { windowParams } from "../../queries/monitoring/window.ts";
import { FLOW_QUERY_FIELDS } from "../../routes/flow-params.ts";
import {
  DEFAULT_DNS_NAMES,
  DNS_QUERY_FIELDS,
  DROPS_QUERY_FIELDS,
  PodListQuery,
  PodParams,
  SERIES_QUERY_FIELDS,
  SERVICEMAP_QUERY_FIELDS,
  TALKERS_QUERY_FIELDS,
  TCP_QUERY_FIELDS,
} from "../../routes/monitoring.ts";
import { NodeParams } from "../../routes/params.ts";
import {
  DropsAnswer,
  FlowsAnswer,
  FlowStreamLine,
  PodJson,
  PodList,
  SeriesAnswer,
  ServiceMapAnswer,
  TcpAnswer,
  TopTalkersAnswer,
} from "../schemas/monitoring.ts";
import { DnsAnswer } from "../schemas/dns.ts";
import { ERRORS, errors, ok, type Operation } from "../operation.ts";

const TAG = "Monitoring";
const WINDOW = "`since` and `until`: ISO 8601 times or durations back from now (`90s`, `5m`, `2h`, `7d`); " +
  "the last 5 minutes by default.";

export const MONITORING_OPERATIONS: Operation[] = [
  {
    method: "get",
    path: "/api/v1/pods",
    tag: TAG,
    summary: "Pods, current and vanished (within their grace period), by namespace and name",
    access: "reader",
    query: PodListQuery,
    responses: { 200: ok(PodList, "The pods"), ...errors(400, 404) },
  },
  {
    method: "get",
    path: "/api/v1/pods/{namespace}/{name}",
    tag: TAG,
    summary: "One pod with its traffic totals and rates",
    access: "reader",
    params: PodParams,
    responses: { 200: ok(PodJson, "The pod"), ...errors(400, 404) },
  },
  {
    method: "get",
    path: "/api/v1/flows",
    tag: TAG,
    summary: "The flow explorer: flows over a window, filtered, sorted and paged",
    description: WINDOW,
    access: "reader",
    query: windowParams(FLOW_QUERY_FIELDS),
    responses: { 200: ok(FlowsAnswer, "The page of flows, their count and totals"), ...errors(400, 404) },
  },
  {
    method: "get",
    path: "/api/v1/flows/stream",
    tag: TAG,
    summary: "Follow the flows of the batches this replica stores, as they commit",
    description: "NDJSON by default; server-sent events with `Accept: text/event-stream`. Each line (or event's " +
      "data) is a flow, a keep-alive, or, last, why the follower was dropped.",
    access: "reader",
    query: FlowStreamQuery,
    responses: {
      200: {
        description: "The stream",
        contentTypes: {
          "application/x-ndjson": "One JSON object a line",
          "text/event-stream": "`event: flow`, `id: <seq>`, `data: <json>`; `event: dropped` last",
        },
        lines: FlowStreamLine,
      },
      ...errors(400),
      503: { ...ERRORS[503], description: "Too many followers: retry after `Retry-After` seconds" },
    },
  },
  {
    method: "get",
    path: "/api/v1/tcp",
    tag: TAG,
    summary: "TCP health per connection key over a window",
    description: WINDOW,
    access: "reader",
    query: windowParams(TCP_QUERY_FIELDS),
    responses: { 200: ok(TcpAnswer, "Connections and totals"), ...errors(400, 404) },
  },
  {
    method: "get",
    path: "/api/v1/drops",
    tag: TAG,
    summary: "Dropped packets by node, pod, interface, reason and service over a window",
    description: WINDOW,
    access: "reader",
    query: windowParams(DROPS_QUERY_FIELDS),
    responses: { 200: ok(DropsAnswer, "Drops and their totals by reason"), ...errors(400, 404) },
  },
  {
    method: "get",
    path: "/api/v1/dns",
    tag: TAG,
    summary: "DNS per asking pod and server (queries, answers, timeouts, latency) and each pod's top names",
    description: WINDOW + " `server`: an address (IPv6 in any spelling), filters the server rows only (names carry " +
      `no server); \`limit\`: names per pod and list (default ${DEFAULT_DNS_NAMES}). Sums are exact.`,
    access: "reader",
    query: windowParams(DNS_QUERY_FIELDS),
    responses: { 200: ok(DnsAnswer, "Servers and names"), ...errors(400, 404) },
  },
  {
    method: "get",
    path: "/api/v1/servicemap",
    tag: TAG,
    summary: "Clients → services → backends over a window, and pods → DNS servers",
    description: WINDOW,
    access: "reader",
    query: windowParams(SERVICEMAP_QUERY_FIELDS),
    responses: { 200: ok(ServiceMapAnswer, "The map's nodes and edges"), ...errors(400) },
  },
  {
    method: "get",
    path: "/api/v1/nodes/{node}/series",
    tag: TAG,
    summary: "RX/TX of a node (its interfaces summed) or of one interface, per report or bucket",
    description: WINDOW,
    access: "reader",
    params: NodeParams,
    query: windowParams(SERIES_QUERY_FIELDS),
    responses: { 200: ok(SeriesAnswer, "The points, oldest first"), ...errors(400, 404) },
  },
  {
    method: "get",
    path: "/api/v1/toptalkers",
    tag: TAG,
    summary: "The pods (or client → server pairs) that moved the most bytes over a window",
    description: WINDOW,
    access: "reader",
    query: windowParams(TALKERS_QUERY_FIELDS),
    responses: { 200: ok(TopTalkersAnswer, "The talkers, most bytes first"), ...errors(400) },
  },
];
