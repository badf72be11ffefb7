// SPDX-License-Identifier: Apache-2.0
/**
 * The gateway's flow events in /metrics: a counter family per event
 * (control/wire/services.ts GATEWAY_FRONTEND_COUNTERS), per service and
 * frontend, since the service was made (gateway_frontend_totals: only
 * grows). Labels bounded by configuration, never by traffic: namespace,
 * service, port_name and frontend, where frontend is one of the service's
 * first MAX_FRONTEND_SERIES current frontends (the NodePort first, then its
 * external IPs in order), and "other" sums the rest and those it no longer
 * has (so the sum over frontends stays the service's total).
 */
import { inArray } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { services } from "../db/schema.ts";
import {
  frontendLabel,
  gatewayEventTotals,
  type GatewayFrontendEvents,
  serviceEvents,
} from "../services/gateway-events.ts";
import type { Family } from "../wire/exposition.ts";
import { GATEWAY_FRONTEND_COUNTERS, type GatewayFrontendCounter, NODE_PORT_FRONTEND } from "../wire/services.ts";

/** Frontends of one service with a series of their own; the rest are summed into frontend="other". */
export const MAX_FRONTEND_SERIES = 8;
export const OTHER_FRONTEND = "other";

/** Each event's family (a new counter: one line). */
const FAMILY: Record<GatewayFrontendCounter, [name: string, help: string]> = {
  flows: ["ebpf_k8s_gateway_flows_total", "Flows the gateway tracked anew"],
  evicted: [
    "ebpf_k8s_gateway_flows_evicted_total",
    "Tracked flows pushed out of a node's full flow table (LRU) before they ended",
  ],
  snatBusy: [
    "ebpf_k8s_gateway_snat_busy_packets_total",
    "First packets of new flows dropped: no free SNAT port for the backend",
  ],
  noBackend: [
    "ebpf_k8s_gateway_no_backend_packets_total",
    "First packets of new flows dropped: the service had no usable backend",
  ],
  toStack: [
    "ebpf_k8s_gateway_to_stack_packets_total",
    "Translated packets passed to the kernel's stack: no route known",
  ],
  expired: [
    "ebpf_k8s_gateway_flows_expired_total",
    "Tracked flows ended by a node's flow expiry (idle past their timeout)",
  ],
};

export async function gatewayFamilies(db: Db): Promise<Family[]> {
  const totals = await gatewayEventTotals(db);
  const ids = [...totals.keys()];
  const rows = ids.length
    ? await db
      .select({
        id: services.id,
        namespace: services.namespace,
        name: services.name,
        portName: services.portName,
        port: services.port,
        nodePort: services.nodePort,
        externalIps: services.externalIps,
      })
      .from(services)
      .where(inArray(services.id, ids))
    : [];
  const samples = new Map(GATEWAY_FRONTEND_COUNTERS.map((c) => [c, [] as Family["samples"]]));
  for (const s of rows.sort((a, b) => a.id - b.id)) {
    const current = [
      ...(s.nodePort !== null ? [frontendLabel(NODE_PORT_FRONTEND, s.nodePort)] : []),
      ...s.externalIps.map((ip) => frontendLabel(ip, s.port)),
    ];
    const own = new Set(current.slice(0, MAX_FRONTEND_SERIES));
    const series = new Map<string, GatewayFrontendEvents[]>();
    for (const f of totals.get(s.id) ?? []) {
      const label = own.has(f.frontend) ? f.frontend : OTHER_FRONTEND;
      series.set(label, [...(series.get(label) ?? []), f]);
    }
    for (const [frontend, list] of series) {
      const labels = { namespace: s.namespace, service: s.name, port_name: s.portName, frontend };
      const t = serviceEvents(list);
      for (const c of GATEWAY_FRONTEND_COUNTERS) samples.get(c)!.push({ labels, value: t[c] });
    }
  }
  return GATEWAY_FRONTEND_COUNTERS.map((c) => ({
    name: FAMILY[c][0],
    help: `${
      FAMILY[c][1]
    }, per service port and frontend (external IP:port, nodePort:port, or other), since the service was made`,
    type: "counter",
    samples: samples.get(c)!,
  }));
}
