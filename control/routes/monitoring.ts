// SPDX-License-Identifier: Apache-2.0
/**
 * Read API of data monitoring (open, or token-protected like the node routes):
 *   GET /api/v1/pods?node=&namespace=          → { pods: Pod[] } current and vanished (grace period), by namespace, name
 *   GET /api/v1/pods/:namespace/:name          → Pod (404 when unknown or its grace period is over)
 *   GET /api/v1/flows?node=&pod=&since=&until=&limit=, and namespace=&service=&port=&protocol=&failures=
 *                      &sort=&order=&offset= (the flow explorer: flow-params.ts, queries/monitoring/flow-explorer.ts)
 *                                              → { window, flows: Flow[], total, totals: { packets, bytes } }, most bytes first
 *   GET /api/v1/tcp?node=&pod=&since=&until=&limit=
 *                                              → { window, connections: Connection[], totals }
 *   GET /api/v1/drops?node=&pod=&service=&since=&until=
 *                                              → { window, drops: Drop[], byReason: [{ reason, packets, bytes }] }
 *                                                service ("namespace/name"): only the drops that named it
 *   GET /api/v1/dns?node=&pod=&server=&since=&until=&limit=
 *                                              → { window, servers: DnsServer[], names: [{ pod, byQueries, byNxdomain }] }
 *                                                per (pod, server, port), exact sums; names: per pod the `limit` (default 10)
 *                                                names with the most queries and with the most NXDOMAIN answers (any);
 *                                                server (an address) filters servers only: names carry none
 *   GET /api/v1/servicemap?since=&until=&namespace=&service=
 *                                              → { window, nodes: [{ id, label, kind, namespace?, dns? }],
 *                                                edges: [{ source, target, bytes, connections, failures, avgSrttUs }],
 *                                                dns: [{ source, target, queries, responses, errors, errorRate,
 *                                                timeouts, answered, p95Us }] }
 *                                                clients → service → backends where a flow names its service;
 *                                                service ("namespace/name") keeps that service's edges; dns: each
 *                                                pod → DNS server (through the server's service when it is one's
 *                                                backend), a node's dns the totals of the DNS edges reaching it
 *   GET /api/v1/nodes/:node/series?since=&until=&ifname=
 *                                              → { window, node, ifname, points: Point[] }, oldest first: RX/TX of the node
 *                                                (its interfaces summed) or of one interface, per report (raw) or bucket (1m, 1h)
 *   GET /api/v1/toptalkers?by=pods|pairs&since=&until=&limit=
 *                                              → { window, by, talkers: [{ pod | source, destination; bytes, packets, bytesPerSec }] }
 *                                                pods (default): each pod with all it sent and received; pairs: client → server over all ports; limit default 10
 *
 * Parameters: `node` is the node that reported the numbers (summed over all
 * nodes without it); `pod` is "namespace/name" (flows: on either side; tcp:
 * the local side, i.e. the pod's own view; drops: the pod's drops); `since`
 * and `until` are ISO 8601 times or durations back from now ("90s", "5m",
 * "2h", "7d"), the last 5 minutes by default; `limit` 1–5000, default 500.
 * 400 names the bad parameter (and since after until); 404 for a node that
 * never reported or a pod nobody knows; unknown parameters are refused.
 *
 * JSON: window = { since, until (ISO: the bounds the numbers cover, widened
 * to whole buckets on 1m and 1h; an until in the future stops at now),
 * level "raw"|"1m"|"1h", seconds (what the window covers up to now) }.
 * Endpoint = { kind "pod"|"service"|"world"|"other", label, and where known
 * uid, namespace, name, node (pods), ip (world) }. Flow = { source (client),
 * destination (server), port, proto, protocol, forward (source → destination)
 * and reverse { packets, bytes }, tcpFlags ["SYN", ...], bytesPerSec,
 * service (Endpoint the client addressed, or null), firstSeen, lastSeen (ISO;
 * raw: report times, 1m/1h: bucket bounds), verdict "ok"|"refused"|
 * "timed_out"|"failed"|"reset"|"no_reply", connections { opened, refused,
 * timedOut, failed, resets }, avgSrttUs (from the connection's TCP rows) };
 * total counts the matching flows, totals sum them, also past the page.
 * Connection = { local, remote, port, role, opened, failed { refused,
 * timeout, other }, closed, avgDurationMs, retransmits, resets { received,
 * sent }, avgSrttUs }; totals { opened, failed, closed, retransmits, resets }
 * count each connection once without `pod` (a pod-to-pod connection is
 * listed from both ends). Drop = { node, pod (Endpoint or null: the node's
 * own), ifname (or null), reason, service (Endpoint the dropped packets were
 * addressed to or came from, or null: none, an older agent, or the rest of
 * the key's drops once its services' are counted), packets, bytes }: one per
 * (node, pod, ifname, reason, service), a key's rows adding up to its total. Pod = { uid, namespace,
 * name, node, ips, labels, owner, hostNetwork, hostVeth, state
 * "current"|"vanished", firstSeen, lastSeen, vanishedAt, RX/TX totals
 * (RX: what the pod received), drops, and per-second rates (null until two
 * reports of the same boot) }. Point = { t (report time on raw, start of
 * the bucket on 1m and 1h), seconds (what the point covers: the time since
 * the boot's previous report, summed over a bucket), rxPackets, rxBytes,
 * txPackets, txBytes, drops (growth over those seconds: counters restarted
 * by a new boot or a recreated interface count from zero, never negative),
 * rxBytesPerSec, txBytesPerSec, rxPacketsPerSec, txPacketsPerSec, dropsPerSec
 * (null when seconds is 0) }; reports or buckets without data are absent.
 * 404 for an ifname the node neither has nor reported in the window.
 * DnsServer = { pod (Endpoint or null: a node's "other" record), server, port, queries { A, AAAA, …, other },
 * responses { NOERROR, NXDOMAIN, SERVFAIL, REFUSED, other }, truncated, timeouts, tcp (queries over TCP, in
 * queries too), latency { answered, sumUs, meanUs, p50Us, p95Us, p99Us, aboveUs, buckets [{ leUs, count }] } }:
 * a quantile is the upper bound of the histogram bucket holding it (an upper bound, exact to the bucket; null
 * when it lies in the last bucket, slower than aboveUs, or nothing was answered).
 */
import { type Context, Hono } from "hono";
import { z } from "zod";
import { type AccessSettings, requireReader } from "../auth/access.ts";
import type { Db } from "../db/client.ts";
import { jsonError, jsonResponse } from "../http/json.ts";
import { invalidParameters, parseOr400 } from "../http/validation.ts";
import type { MonitoringSettings } from "../monitoring-store/settings.ts";
import { serviceKey } from "../monitoring/attribution.ts";
import { queryDns } from "../queries/monitoring/dns.ts";
import { decodeEndpoints, podKeysNamed } from "../queries/monitoring/endpoints.ts";
import { queryDrops } from "../queries/monitoring/drops.ts";
import { queryInterfaceSeries } from "../queries/monitoring/interfaces.ts";
import { queryFlowExplorer } from "../queries/monitoring/flow-explorer.ts";
import { DEFAULT_FLOW_LIMIT } from "../queries/monitoring/flows.ts";
import { findPod, listPods } from "../queries/monitoring/pods.ts";
import { queryServiceMap } from "../queries/monitoring/servicemap.ts";
import { queryTcp } from "../queries/monitoring/tcp.ts";
import { queryTopTalkers } from "../queries/monitoring/toptalkers.ts";
import { optionalParam, windowJson, withWindow } from "../queries/monitoring/window.ts";
import { listInterfaces, nodeKnown } from "../queries/nodes.ts";
import { IfName, NodeName } from "../wire/batch.ts";
import { Ip, Rfc1123Name } from "../wire/scalars.ts";
import { dnsJson } from "./dns-json.ts";
import { explorerFlowJson } from "./flow-explorer-json.ts";
import { explorerFilter, explorerPage, FLOW_QUERY_FIELDS, Limit, NamespacedName } from "./flow-params.ts";
import { dropJson, podJson, seriesPointJson, talkerJson, tcpJson, tcpTotalsJson } from "./monitoring-json.ts";
import { NodeParams } from "./params.ts";

export interface MonitoringRouteOptions {
  now: () => number;
  access: AccessSettings;
  monitoring: MonitoringSettings;
}

/** Where alerts.ts takes its limit from. */
export { Limit };

const node = optionalParam(NodeName);
const pod = optionalParam(NamespacedName);
const namespace = optionalParam(Rfc1123Name);
const limit = optionalParam(Limit);
const by = optionalParam(z.enum(["pods", "pairs"], { error: 'must be "pods" or "pairs"' }));

/** Names listed per pod and list by /dns without a limit. */
export const DEFAULT_DNS_NAMES = 10;

/** Top talkers shown without a limit. */
export const DEFAULT_TALKERS = 10;

const invalidQuery = invalidParameters("query");
const invalidPath = invalidParameters("path");

export const PodListQuery = z.strictObject({ node, namespace });
export const PodParams = z.object({ namespace: Rfc1123Name, name: Rfc1123Name });

/** The fields of each windowed query, besides since and until (windowParams). */
export const TCP_QUERY_FIELDS = { node, pod, limit };
export const DROPS_QUERY_FIELDS = { node, pod, service: optionalParam(NamespacedName) };
export const DNS_QUERY_FIELDS = { node, pod, server: optionalParam(Ip), limit };
export const SERVICEMAP_QUERY_FIELDS = { namespace, service: optionalParam(NamespacedName) };
export const SERIES_QUERY_FIELDS = { ifname: optionalParam(IfName) };
export const TALKERS_QUERY_FIELDS = { by, limit };

type Found<T> = { ok: true; value: T } | { ok: false; response: Response };
type PodName = { namespace: string; name: string };
/** A node that reported, and the endpoint keys of a pod (podKeysNamed). */
type Filters = { node?: string; pod?: string[] };
type Windowed<S extends z.ZodRawShape> = z.output<ReturnType<typeof withWindow<S>>>;

export function monitoringRoutes(db: Db, { now, access, monitoring }: MonitoringRouteOptions): Hono {
  const routes = new Hono();
  const reader = requireReader(access);
  const query = <S extends z.ZodType>(c: Context, schema: S) => parseOr400(schema, c.req.query(), invalidQuery);

  /** The node must have reported; the pod must be known (listed, or named by stored statistics). */
  async function filters(f: { node?: string; pod?: PodName }): Promise<Found<Filters>> {
    if (f.node !== undefined && !(await nodeKnown(db, f.node))) {
      return { ok: false, response: jsonError(404, `node '${f.node}' not found`) };
    }
    if (f.pod === undefined) return { ok: true, value: { node: f.node } };
    const keys = await podKeysNamed(db, f.pod.namespace, f.pod.name);
    if (keys.length === 0) {
      return { ok: false, response: jsonError(404, `pod '${f.pod.namespace}/${f.pod.name}' not found`) };
    }
    return { ok: true, value: { node: f.node, pod: keys } };
  }

  routes.get("/pods", reader, async (c) => {
    const q = query(c, PodListQuery);
    if (!q.ok) return q.response;
    const f = await filters({ node: q.data.node });
    if (!f.ok) return f.response;
    const pods = await listPods(db, now(), monitoring.podGraceMs, q.data);
    return jsonResponse({ pods: pods.map(podJson) });
  });

  routes.get("/pods/:namespace/:name", reader, async (c) => {
    const params = parseOr400(PodParams, c.req.param(), invalidPath);
    if (!params.ok) return params.response;
    const { namespace, name } = params.data;
    const found = await findPod(db, namespace, name, now(), monitoring.podGraceMs);
    return found === undefined ? jsonError(404, `pod '${namespace}/${name}' not found`) : jsonResponse(podJson(found));
  });

  /** GET `path` over a window, its node and pod filters checked (404) before `answer` adds its members to `window`. */
  function windowedRoute<S extends z.ZodRawShape>(
    path: string,
    fields: S,
    answer: (q: Windowed<S>, f: Filters) => Promise<object>,
  ) {
    routes.get(path, reader, async (c) => {
      const q = query(c, withWindow(fields, now(), monitoring.retention));
      if (!q.ok) return q.response;
      const f = await filters(q.data as { node?: string; pod?: PodName });
      if (!f.ok) return f.response;
      return jsonResponse({ window: windowJson(q.data.window), ...(await answer(q.data, f.value)) });
    });
  }

  windowedRoute("/flows", FLOW_QUERY_FIELDS, async (q, f) => {
    const { flows, total, totals } = await queryFlowExplorer(
      db,
      q.window,
      { ...explorerFilter(q), pod: f.pod },
      explorerPage(q),
    );
    return { flows: flows.map((r) => explorerFlowJson(r, q.window.seconds)), total, totals };
  });

  windowedRoute("/tcp", TCP_QUERY_FIELDS, async (q, f) => {
    const { connections, totals } = await queryTcp(db, q.window, f, q.limit ?? DEFAULT_FLOW_LIMIT);
    return { connections: connections.map(tcpJson), totals: tcpTotalsJson(totals) };
  });

  windowedRoute("/drops", DROPS_QUERY_FIELDS, async (q, f) => {
    const service = q.service && serviceKey({ kind: "service", ...q.service });
    const { drops, byReason } = await queryDrops(db, q.window, { ...f, service });
    return { drops: drops.map(dropJson), byReason };
  });

  windowedRoute("/dns", DNS_QUERY_FIELDS, async (q, f) => {
    const result = await queryDns(db, q.window, { ...f, server: q.server }, q.limit ?? DEFAULT_DNS_NAMES);
    const pods = await decodeEndpoints(db, [...result.servers.map((s) => s.pod), ...result.topNames.keys()]);
    return dnsJson(result, (key) => pods.get(key));
  });

  windowedRoute(
    "/servicemap",
    SERVICEMAP_QUERY_FIELDS,
    (q) => queryServiceMap(db, q.window, { namespace: q.namespace, service: q.service }, { dns: true }),
  );

  routes.get("/nodes/:node/series", reader, async (c) => {
    const params = parseOr400(NodeParams, c.req.param(), invalidPath);
    if (!params.ok) return params.response;
    const q = query(c, withWindow(SERIES_QUERY_FIELDS, now(), monitoring.retention));
    if (!q.ok) return q.response;
    const { node } = params.data;
    const { ifname, window } = q.data;
    const f = await filters({ node });
    if (!f.ok) return f.response;
    const points = await queryInterfaceSeries(db, window, node, ifname);
    if (
      ifname !== undefined && points.length === 0 && !(await listInterfaces(db, node))?.some((i) => i.ifname === ifname)
    ) {
      return jsonError(404, `interface '${ifname}' not found on node '${node}'`);
    }
    return jsonResponse({
      window: windowJson(window),
      node,
      ifname: ifname ?? null,
      points: points.map(seriesPointJson),
    });
  });

  windowedRoute("/toptalkers", TALKERS_QUERY_FIELDS, async (q) => {
    const mode = q.by ?? "pods";
    const talkers = await queryTopTalkers(db, q.window, mode, q.limit ?? DEFAULT_TALKERS);
    return { by: mode, talkers: talkers.map((t) => talkerJson(t, q.window.seconds)) };
  });

  return routes;
}
