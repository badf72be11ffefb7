// SPDX-License-Identifier: Apache-2.0
/**
 * GET /metrics of the control plane: the cluster as the database knows it, in
 * the Prometheus text format, read at scrape time (no counters kept in the
 * process, so every replica answers the same), and after it this replica's
 * own ingest load (ingest-load.ts). Labels are bounded by the
 * cluster's size, never by traffic: node, interface, node status, module,
 * alert metric, service namespace/name/port, backend state, gateway
 * frontend (bounded per service, gateway.ts) and DNS query type and rcode
 * (fixed lists, dns.ts) (and the
 * ingest load's fixed shed reasons and histogram bounds). No per-flow,
 * per-pod or per-IP label. Names and meanings: docs/prometheus.md.
 */
import { count, eq, isNull } from "drizzle-orm";
import { Hono } from "hono";
import { type AccessSettings, requireReader } from "../auth/access.ts";
import type { Db } from "../db/client.ts";
import type { IngestAdmission } from "../ingest/admission.ts";
import { storeCommits } from "../ingest/store.ts";
import { alerts, interfaces, pods, serviceBackends, services } from "../db/schema.ts";
import { listNodes } from "../queries/nodes.ts";
import type { StatusThresholds } from "../queries/node-status.ts";
import { exposition, EXPOSITION_CONTENT_TYPE, type Family, INTERFACE_COUNTERS } from "../wire/exposition.ts";
import type { FlowStreamHub } from "../flows-stream/hub.ts";
import { flowStreamFamilies } from "./flow-stream.ts";
import { dnsFamilies } from "./dns.ts";
import { gatewayFamilies } from "./gateway.ts";
import { ingestLoadFamilies } from "./ingest-load.ts";
import type { LeaseStatus } from "../lease/keeper.ts";
import { leaseView } from "../lease/status.ts";
import { leaseFamilies } from "./lease.ts";
import { notificationFamilies } from "./notifications.ts";
import { nodeRemovalFamilies } from "./node-removals.ts";

export const METRICS_PATH = "/metrics";

const STATUSES = ["Ready", "Stale", "Lost"] as const;
/** Every family of the control plane's /metrics, in order. */
export async function controlMetrics(db: Db, now: number, thresholds: StatusThresholds): Promise<Family[]> {
  const [nodeList, ifRows, podRows, alertRows, serviceRows, backendRows] = await Promise.all([
    listNodes(db, now, thresholds),
    db.select().from(interfaces),
    db.select({ node: pods.node, n: count() }).from(pods).where(isNull(pods.vanishedAt)).groupBy(pods.node),
    db.select({ metric: alerts.metric, n: count() }).from(alerts).where(isNull(alerts.resolvedAt)).groupBy(
      alerts.metric,
    ),
    db.select({ source: services.source, n: count() }).from(services).groupBy(services.source),
    db
      .select({
        namespace: services.namespace,
        name: services.name,
        portName: services.portName,
        state: serviceBackends.state,
        n: count(),
      })
      .from(serviceBackends)
      .innerJoin(services, eq(services.id, serviceBackends.serviceId))
      .groupBy(services.namespace, services.name, services.portName, serviceBackends.state),
  ]);
  const byStatus = Object.fromEntries(STATUSES.map((s) => [s, 0])) as Record<(typeof STATUSES)[number], number>;
  for (const n of nodeList) byStatus[n.status]++;

  const families: Family[] = [
    {
      name: "ebpf_k8s_nodes",
      help: "Nodes known to the control plane, by status (Ready, Stale, Lost)",
      type: "gauge",
      samples: STATUSES.map((status) => ({ labels: { status }, value: byStatus[status] })),
    },
    {
      name: "ebpf_k8s_node_ready",
      help: "1 when the node's agent reported within EBPF_K8S_STALE_AFTER, else 0",
      type: "gauge",
      samples: nodeList.map((n) => ({ labels: { node: n.name }, value: n.status === "Ready" ? 1 : 0 })),
    },
    {
      name: "ebpf_k8s_node_last_seen_timestamp_seconds",
      help: "Unix time of the node's latest accepted batch (control plane clock)",
      type: "gauge",
      samples: nodeList.map((n) => ({ labels: { node: n.name }, value: Date.parse(n.lastSeen) / 1000 })),
    },
    ...INTERFACE_COUNTERS.map(([key, suffix, help]): Family => ({
      name: `ebpf_k8s_interface_${suffix}_total`,
      help: `${help} on a watched interface, since its agent's boot (resets with a new boot)`,
      type: "counter",
      samples: ifRows.map((r) => ({ labels: { node: r.node, interface: r.ifname }, value: r[key] })),
    })),
    {
      name: "ebpf_k8s_pods",
      help: "Pods currently reported by each node's agent",
      type: "gauge",
      samples: podRows.map((r) => ({ labels: { node: r.node }, value: r.n })),
    },
    {
      name: "ebpf_k8s_alerts_active",
      help: "Active alerts, by threshold metric",
      type: "gauge",
      samples: alertRows.map((r) => ({ labels: { metric: r.metric }, value: r.n })),
    },
    {
      name: "ebpf_k8s_services",
      help: "Load-balanced service ports, by source (api, kubernetes)",
      type: "gauge",
      samples: serviceRows.map((r) => ({ labels: { source: r.source }, value: r.n })),
    },
    {
      name: "ebpf_k8s_service_backends",
      help: "Backends of a load-balanced service port, by state (active, terminating, unhealthy)",
      type: "gauge",
      samples: backendRows.map((r) => ({
        labels: { namespace: r.namespace, service: r.name, port_name: r.portName, state: r.state },
        value: r.n,
      })),
    },
    ...(await gatewayFamilies(db)),
    ...(await notificationFamilies(db)),
    ...(await dnsFamilies(db)),
    ...(await nodeRemovalFamilies(db)),
    {
      name: "ebpf_k8s_scrape_timestamp_seconds",
      help: "When this answer was computed (control plane clock)",
      type: "gauge",
      samples: [{ value: now / 1000 }],
    },
  ];
  return families;
}

export function metricsRoutes(
  db: Db,
  o: {
    now: () => number;
    access: AccessSettings;
    thresholds: StatusThresholds;
    admission?: IngestAdmission;
    lease?: () => LeaseStatus;
    flowStream?: FlowStreamHub;
  },
): Hono {
  const routes = new Hono();
  routes.get(METRICS_PATH, requireReader(o.access), async () => {
    const load = o.admission ? ingestLoadFamilies(o.admission.snapshot(), storeCommits(db)) : [];
    const now = o.now();
    const [cluster, lease] = await Promise.all([controlMetrics(db, now, o.thresholds), leaseView(db, now, o.lease)]);
    const stream = o.flowStream ? flowStreamFamilies(o.flowStream.snapshot()) : [];
    const body = exposition([...cluster, ...leaseFamilies(lease), ...load, ...stream]);
    return new Response(body, { headers: { "content-type": EXPOSITION_CONTENT_TYPE } });
  });
  return routes;
}
