// SPDX-License-Identifier: Apache-2.0
/** The cluster dashboard: nodes and their agents at a glance, traffic and TCP health per node, the control plane's load. */
import { chart, type DashboardSpec, q, stat } from "./grafana.ts";
import { once, rate } from "./promql.ts";

/** An interface family's rate summed per node (each interface counted once whatever the replicas). */
const perNode = (family: string) => q(`sum by (node) (${once("node, interface", rate(family))})`, "{{node}}");
/** An agent counter's rate per node. */
const agentRate = (family: string) => q(`sum by (node) (${rate(family)})`, "{{node}}");
const PER_INSTANCE = "{{instance}}";

export const cluster: DashboardSpec = {
  uid: "ebpf-k8s-cluster",
  title: "ebpf-k8s / Cluster",
  description: "Nodes, traffic, TCP health and drops of the whole cluster; the control plane's ingest load",
  variables: [],
  rows: [
    {
      title: "Nodes",
      panels: [
        stat(
          "Nodes by status",
          "short",
          ["Ready", "Stale", "Lost"].map((s) => q(`max(ebpf_k8s_nodes{status="${s}"})`, s)),
          {
            w: 8,
            description: "Ready: reported within EBPF_K8S_STALE_AFTER; Lost: silent past EBPF_K8S_LOST_AFTER",
          },
        ),
        stat("Pods", "short", [q("sum(max by (node) (ebpf_k8s_pods))", "pods")], { w: 4 }),
        stat("Active alerts (thresholds)", "short", [q("max by (metric) (ebpf_k8s_alerts_active)", "{{metric}}")], {
          w: 4,
        }),
        stat("Agents by version", "short", [q("count by (version) (ebpf_k8s_agent_info)", "{{version}}")], { w: 4 }),
        stat("Modules on (nodes)", "short", [q("sum by (module) (ebpf_k8s_agent_module_enabled)", "{{module}}")], {
          w: 4,
        }),
        chart("Heartbeat age", "s", [
          q("time() - max by (node) (ebpf_k8s_node_last_seen_timestamp_seconds)", "{{node}}"),
        ], {
          description: "Seconds since each node's latest accepted batch (the threshold metric heartbeatAgeSeconds)",
        }),
        chart("Nodes not Ready", "short", [q("max by (node) (ebpf_k8s_node_ready) == bool 0", "{{node}}")]),
      ],
    },
    {
      title: "Traffic",
      panels: [
        chart("RX per node", "Bps", [perNode("ebpf_k8s_interface_rx_bytes_total")]),
        chart("TX per node", "Bps", [perNode("ebpf_k8s_interface_tx_bytes_total")]),
        chart("Interface drops per node", "pps", [perNode("ebpf_k8s_interface_dropped_packets_total")]),
        chart("Kernel drops per node", "pps", [agentRate("ebpf_k8s_agent_dropped_packets_total")], {
          description: "Packets the kernel dropped, any reason (the drops module; threshold metric dropsPerSec)",
        }),
      ],
    },
    {
      title: "TCP",
      panels: [
        chart("Failed connections per node", "cps", [agentRate("ebpf_k8s_agent_tcp_connections_failed_total")], {
          description: "Refused, timed out or failed otherwise (threshold metric failedConnectionsPerSec)",
        }),
        chart("Retransmits per node", "short", [agentRate("ebpf_k8s_agent_tcp_retransmits_total")], {
          description: "TCP segments retransmitted per second (threshold metric retransmitsPerSec)",
        }),
      ],
    },
    {
      title: "Control plane (per replica)",
      panels: [
        chart("Ingest slots", "short", [
          q("ebpf_k8s_ingest_in_flight", `in flight ${PER_INSTANCE}`),
          q("ebpf_k8s_ingest_in_flight_limit", `limit ${PER_INSTANCE}`),
          q("ebpf_k8s_ingest_queued", `queued ${PER_INSTANCE}`),
          q("ebpf_k8s_ingest_storing", `storing ${PER_INSTANCE}`),
        ]),
        chart("Batches admitted and shed", "short", [
          q(`sum by (instance) (${rate("ebpf_k8s_ingest_admitted_total")})`, `admitted ${PER_INSTANCE}`),
          q(`sum by (instance, reason) (${rate("ebpf_k8s_ingest_shed_total")})`, `shed {{reason}} ${PER_INSTANCE}`),
        ], { description: "Shed: refused with 503 and Retry-After; the agents keep and resend them" }),
        chart("Queue wait (p99)", "s", [
          q(
            `histogram_quantile(0.99, sum by (instance, le) (${rate("ebpf_k8s_ingest_queue_wait_seconds_bucket")}))`,
            PER_INSTANCE,
          ),
        ]),
        chart("Batches per commit", "short", [
          q(
            `sum by (instance) (${rate("ebpf_k8s_ingest_committed_batches_total")}) / ` +
              `sum by (instance) (${rate("ebpf_k8s_ingest_commits_total")})`,
            PER_INSTANCE,
          ),
        ]),
      ],
    },
    {
      title: "Agents",
      panels: [
        chart("Spooled batches (not yet acknowledged)", "short", [q("ebpf_k8s_agent_spool_batches", "{{node}}")]),
        chart("Quarantined batches", "short", [q("ebpf_k8s_agent_quarantined_batches", "{{node}}")]),
        chart("Batches lost or refused", "short", [
          q(`sum by (node) (${rate("ebpf_k8s_agent_spool_dropped_total")})`, "spool dropped {{node}}"),
          q(`sum by (node, reason) (${rate("ebpf_k8s_agent_batches_refused_total")})`, "refused {{reason}} {{node}}"),
        ], {
          description: "Lost: a full spool that could merge nothing; refused: kept spooled (version) or quarantined",
        }),
        chart("Last batch age", "s", [q("time() - ebpf_k8s_agent_last_batch_timestamp_seconds", "{{node}}")], {
          description: "Seconds since each agent made its latest batch (its own clock)",
        }),
      ],
    },
  ],
};
