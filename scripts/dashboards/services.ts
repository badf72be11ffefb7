// SPDX-License-Identifier: Apache-2.0
/** The services dashboard: load-balanced service ports, their backends by state, and the gateway's flow events. */
import { chart, type DashboardSpec, q, stat } from "./grafana.ts";
import { once, pick, rate } from "./promql.ts";

const S = `${pick("namespace")},${pick("service")}`;
const SERVICE = "namespace, service, port_name";
const PORT = "{{namespace}}/{{service}}:{{port_name}}";
/** Services with backends, and those with gateway events (a NodePort with none left, say). */
const SERVICE_FAMILIES = '__name__=~"ebpf_k8s_service_backends|ebpf_k8s_gateway_flows_total"';
const backends = once(`${SERVICE}, state`, `ebpf_k8s_service_backends{${S}}`);
/** A gateway event's rate per service port (summed over its frontends). */
const gateway = (event: string, legend: string) =>
  q(`sum by (${SERVICE}) (${once(`${SERVICE}, frontend`, rate(`ebpf_k8s_gateway_${event}_total{${S}}`))})`, legend);

export const services: DashboardSpec = {
  uid: "ebpf-k8s-services",
  title: "ebpf-k8s / Services",
  description: "Load-balanced services: backends by state, and what the gateway did with their traffic",
  variables: [
    { name: "namespace", label: "Namespace", query: `label_values({${SERVICE_FAMILIES}}, namespace)` },
    { name: "service", label: "Service", query: `label_values({${SERVICE_FAMILIES},${pick("namespace")}}, service)` },
  ],
  rows: [
    {
      title: "Services",
      panels: [
        stat("Service ports by source", "short", [q("max by (source) (ebpf_k8s_services)", "{{source}}")], { w: 12 }),
        stat("Backends by state (services shown)", "short", [q(`sum by (state) (${backends})`, "{{state}}")], {
          w: 12,
        }),
        chart("Backends per service port", "short", [q(backends, `${PORT} {{state}}`)], {
          w: 24,
          description: "active, terminating (draining) and unhealthy backends",
        }),
      ],
    },
    {
      title: "Gateway (traffic entering the cluster)",
      panels: [
        chart("New flows", "short", [gateway("flows", PORT)], {
          description: "Flows the gateway tracked anew, per second",
        }),
        chart("New flows per frontend", "short", [
          q(once(`${SERVICE}, frontend`, rate(`ebpf_k8s_gateway_flows_total{${S}}`)), `${PORT} {{frontend}}`),
        ]),
        chart("First packets dropped", "pps", [
          gateway("no_backend_packets", `no backend ${PORT}`),
          gateway("snat_busy_packets", `SNAT busy ${PORT}`),
        ], { description: "no backend: the service had no usable backend; SNAT busy: no free SNAT port" }),
        chart("Flows ended and evicted, packets to the stack", "short", [
          gateway("flows_expired", `expired ${PORT}`),
          gateway("flows_evicted", `evicted ${PORT}`),
          gateway("to_stack_packets", `to stack ${PORT}`),
        ]),
      ],
    },
  ],
};
