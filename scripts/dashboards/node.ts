// SPDX-License-Identifier: Apache-2.0
/** The node dashboard: one node's (or a few nodes') status, interfaces, TCP health, drops and agent internals. */
import { chart, type DashboardSpec, q, stat } from "./grafana.ts";
import { once, pick, rate } from "./promql.ts";

const N = pick("node");
/** An interface family's rate of the chosen nodes, per node and interface. */
const perInterface = (family: string, legend: string) =>
  q(once("node, interface", rate(`${family}{${N}}`)), `${legend}{{node}} {{interface}}`);
/** An agent family of the chosen nodes, as it is or its rate. */
const gauge = (family: string, legend: string) => q(`${family}{${N}}`, `${legend} {{node}}`);
const perSecond = (family: string, legend: string) => q(rate(`${family}{${N}}`), `${legend} {{node}}`);

export const node: DashboardSpec = {
  uid: "ebpf-k8s-node",
  title: "ebpf-k8s / Node",
  description: "A node: status, interface rates, TCP health, drops, and its agent's spool, quarantine and batches",
  variables: [{ name: "node", label: "Node", query: "label_values(ebpf_k8s_node_ready, node)" }],
  rows: [
    {
      title: "Status",
      panels: [
        stat("Ready", "bool_yes_no", [q(`max by (node) (ebpf_k8s_node_ready{${N}})`, "{{node}}")]),
        stat("Heartbeat age", "s", [
          q(`time() - max by (node) (ebpf_k8s_node_last_seen_timestamp_seconds{${N}})`, "{{node}}"),
        ]),
        stat("Pods", "short", [q(`max by (node) (ebpf_k8s_pods{${N}})`, "{{node}}")]),
        stat("Modules on", "short", [q(`sum by (module) (ebpf_k8s_agent_module_enabled{${N}})`, "{{module}}")]),
      ],
    },
    {
      title: "Interfaces",
      panels: [
        chart("RX and TX bytes", "Bps", [
          perInterface("ebpf_k8s_interface_rx_bytes_total", "RX "),
          perInterface("ebpf_k8s_interface_tx_bytes_total", "TX "),
        ]),
        chart("RX and TX packets", "pps", [
          perInterface("ebpf_k8s_interface_rx_packets_total", "RX "),
          perInterface("ebpf_k8s_interface_tx_packets_total", "TX "),
        ]),
        chart("Interface drops", "pps", [perInterface("ebpf_k8s_interface_dropped_packets_total", "")]),
        chart("Kernel drops", "pps", [perSecond("ebpf_k8s_agent_dropped_packets_total", "dropped")], {
          description: "Packets the kernel dropped on this node, any reason (the drops module)",
        }),
      ],
    },
    {
      title: "TCP",
      panels: [
        chart("Connections opened and failed", "cps", [
          perSecond("ebpf_k8s_agent_tcp_connections_opened_total", "opened"),
          perSecond("ebpf_k8s_agent_tcp_connections_failed_total", "failed {{reason}}"),
        ]),
        chart("Retransmits", "short", [perSecond("ebpf_k8s_agent_tcp_retransmits_total", "retransmitted")], {
          description: "TCP segments retransmitted per second",
        }),
      ],
    },
    {
      title: "Agent",
      panels: [
        chart("Spool and quarantine", "short", [
          gauge("ebpf_k8s_agent_spool_batches", "spooled"),
          gauge("ebpf_k8s_agent_quarantined_batches", "quarantined"),
          gauge("ebpf_k8s_agent_wire_version_held", "held for its wire version"),
        ]),
        chart("Batches made, merged, lost", "short", [
          perSecond("ebpf_k8s_agent_batches_total", "made"),
          perSecond("ebpf_k8s_agent_spool_merged_total", "merged"),
          perSecond("ebpf_k8s_agent_spool_dropped_total", "lost"),
          perSecond("ebpf_k8s_agent_quarantine_dropped_total", "dropped from quarantine"),
        ]),
        chart("Bytes per batch sent", "bytes", [
          q(
            `sum by (node) (${rate(`ebpf_k8s_agent_batch_bytes_total{${N}}`)}) / ` +
              `sum by (node) (${rate(`ebpf_k8s_agent_batch_sends_total{${N}}`)})`,
            "{{node}}",
          ),
        ], { description: "As they travel: compact batches gzipped" }),
        chart("In-kernel flow table", "short", [
          gauge("ebpf_k8s_agent_flow_table_entries", "entries"),
          perSecond("ebpf_k8s_agent_flows_evicted_total", "evicted/s"),
        ]),
        chart("Records summed into other, and cut", "short", [
          perSecond("ebpf_k8s_agent_record_keys_summed_total", "summed {{module}}"),
          perSecond("ebpf_k8s_agent_records_cut_total", "cut {{module}}"),
        ], {
          description: "Per second: keys a record cap summed (totals stay exact); records a batch over 1 MiB left out",
        }),
        chart("Last batch age", "s", [q(`time() - ebpf_k8s_agent_last_batch_timestamp_seconds{${N}}`, "{{node}}")]),
      ],
    },
  ],
};
