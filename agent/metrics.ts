// SPDX-License-Identifier: Apache-2.0
/**
 * The agent's own HTTP endpoint (--metrics-address, --metrics-port):
 *   GET /metrics  Prometheus text format: what this node's agent counts now
 *   GET /healthz  200 while the process serves (liveness)
 *   GET /readyz   200 once the agent has started and made a batch within
 *                 max(3 intervals, 30 s); 503 before and when it is stuck (readiness)
 * Labels are bounded: node, interface, module, reason (of a refusal: two values; of a failed TCP connection:
 * three), encoding (of a batch: two values). No per-flow, per-pod or per-IP label.
 */
import { type ModuleName, MODULES } from "../control/wire/batch.ts";
import type { MonitoringStats } from "../control/wire/monitoring.ts";
import { exposition, EXPOSITION_CONTENT_TYPE, type Family, INTERFACE_COUNTERS } from "../control/wire/exposition.ts";
import type { Agent } from "./agent.ts";
import { AGENT_VERSION } from "./config.ts";
import { WIRE_ENCODINGS } from "./wire_encoding.ts";
import { TCP_FAILURES } from "./monitoring_totals.ts";

/** Per module with records: its MonitoringStats fields of keys summed and records cut. */
const RECORD_COUNTS = [
  ["flows", "flowKeysSummed", "flowRecordsCut"],
  ["tcp", "tcpKeysSummed", "tcpRecordsCut"],
  ["drops", "dropKeysSummed", "dropRecordsCut"],
] as const satisfies readonly (readonly [ModuleName, keyof MonitoringStats, keyof MonitoringStats])[];

/** Per encoding (agent/wire_encoding.ts): what was sent. */
const BATCH_SENT = [
  [
    "ebpf_k8s_agent_batch_bytes_total",
    "bytes",
    "Bytes of the batch bodies sent to the control plane as they travel (compact: gzipped), by encoding, since " +
    "this process started",
  ],
  [
    "ebpf_k8s_agent_batch_sends_total",
    "requests",
    "Batch requests sent to the control plane, by encoding, since this process started (batch_bytes_total over " +
    "this: bytes per batch)",
  ],
] as const;

/** Readiness: a batch made within this long. */
export function readyWithinMs(intervalSeconds: number): number {
  return Math.max(3 * intervalSeconds * 1000, 30_000);
}

export function agentMetrics(node: string, agent: Agent | undefined, now = Date.now()): Family[] {
  const labels = { node };
  const last = agent?.lastBatch;
  const ifs = last?.batch.interfaces ?? [];
  const statuses = agent?.modules.statuses() ?? [];
  const mon = last?.batch.monitoring;
  return [
    {
      name: "ebpf_k8s_agent_info",
      help: "Agent version on this node (always 1)",
      type: "gauge",
      samples: [{ labels: { node, version: AGENT_VERSION }, value: 1 }],
    },
    {
      name: "ebpf_k8s_agent_started",
      help: "1 once the agent has joined and attached its modules",
      type: "gauge",
      samples: [{ labels, value: agent ? 1 : 0 }],
    },
    ...INTERFACE_COUNTERS.map(([key, suffix, help]): Family => ({
      name: `ebpf_k8s_agent_interface_${suffix}_total`,
      help: `${help} on a watched interface, as of the latest batch, since the agent's boot (epoch)`,
      type: "counter",
      samples: ifs.map((i) => ({ labels: { node, interface: i.ifname }, value: i[key] })),
    })),
    {
      name: "ebpf_k8s_agent_module_enabled",
      help: "1 when the module is on, 0 when off, failed or unsupported",
      type: "gauge",
      samples: MODULES.map((module) => ({
        labels: { node, module },
        value: statuses.find((s) => s.name === module)?.state === "on" ? 1 : 0,
      })),
    },
    {
      name: "ebpf_k8s_agent_batches_total",
      help: "Batches made since this process started",
      type: "counter",
      samples: [{ labels, value: agent?.batchesMade ?? 0 }],
    },
    {
      name: "ebpf_k8s_agent_spool_batches",
      help: "Batches spooled on disk, not yet acknowledged by the control plane",
      type: "gauge",
      samples: [{ labels, value: agent?.spool.pending ?? 0 }],
    },
    {
      name: "ebpf_k8s_agent_spool_merged_total",
      help: "Batches merged into a neighbour (deltas summed) because the spool was full, since this process started",
      type: "counter",
      samples: [{ labels, value: agent?.spool.merged ?? 0 }],
    },
    {
      name: "ebpf_k8s_agent_spool_dropped_total",
      help: "Batches lost because the spool was full and no two could be merged, since this process started",
      type: "counter",
      samples: [{ labels, value: agent?.spool.dropped ?? 0 }],
    },
    // refused batches are kept, never deleted (agent/refusals.ts)
    {
      name: "ebpf_k8s_agent_batches_refused_total",
      help: "Batches the control plane refused, since this process started: reason=version (409, kept spooled), " +
        "reason=invalid (400/413, moved to the quarantine)",
      type: "counter",
      samples: (["version", "invalid"] as const).map((reason) => ({
        labels: { node, reason },
        value: agent?.delivery.refusals.counts[reason] ?? 0,
      })),
    },
    ...BATCH_SENT.map(([name, key, help]): Family => ({
      name,
      help,
      type: "counter",
      samples: WIRE_ENCODINGS.map((encoding) => ({
        labels: { node, encoding },
        value: agent?.delivery.encoding.sent[encoding][key] ?? 0,
      })),
    })),
    {
      name: "ebpf_k8s_agent_wire_version_held",
      help: "1 while spooled batches wait for a control plane that accepts their wire version",
      type: "gauge",
      samples: [{ labels, value: agent?.delivery.refusals.held ? 1 : 0 }],
    },
    {
      name: "ebpf_k8s_agent_quarantined_batches",
      help: "Batches the control plane refused as invalid, kept in the quarantine and resent now and then",
      type: "gauge",
      samples: [{ labels, value: agent?.delivery.refusals.quarantine.count ?? 0 }],
    },
    {
      name: "ebpf_k8s_agent_quarantine_dropped_total",
      help: "Quarantined batches dropped because the quarantine was full, since this process started",
      type: "counter",
      samples: [{ labels, value: agent?.delivery.refusals.quarantine.dropped ?? 0 }],
    },
    {
      name: "ebpf_k8s_agent_pods",
      help: "Pods of this node in the latest batch",
      type: "gauge",
      samples: [{ labels, value: last?.batch.pods?.length ?? 0 }],
    },
    {
      name: "ebpf_k8s_agent_flow_table_entries",
      help: "Entries in the in-kernel flow table",
      type: "gauge",
      samples: [{ labels, value: mon?.flowEntries ?? 0 }],
    },
    {
      name: "ebpf_k8s_agent_flows_evicted_total",
      help: "Flows evicted from the full in-kernel flow table",
      type: "counter",
      samples: [{ labels, value: mon?.flowsEvicted ?? 0 }],
    },
    {
      name: "ebpf_k8s_agent_tcp_connections_opened_total",
      help: "TCP connections opened (either role), in the batches made since this process started",
      type: "counter",
      samples: [{ labels, value: agent?.monitoringTotals.tcpOpened ?? 0 }],
    },
    {
      name: "ebpf_k8s_agent_tcp_connections_failed_total",
      help: "TCP connections that failed, by reason (refused, timeout, other), in the batches made since this " +
        "process started (the threshold metric failedConnectionsPerSec: their rate)",
      type: "counter",
      samples: TCP_FAILURES.map(([reason]) => ({
        labels: { node, reason },
        value: agent?.monitoringTotals.tcpFailed[reason] ?? 0,
      })),
    },
    {
      name: "ebpf_k8s_agent_tcp_retransmits_total",
      help:
        "TCP segments retransmitted, in the batches made since this process started (retransmitsPerSec: their rate)",
      type: "counter",
      samples: [{ labels, value: agent?.monitoringTotals.tcpRetransmits ?? 0 }],
    },
    {
      name: "ebpf_k8s_agent_dropped_packets_total",
      help: "Packets the kernel dropped (the drops module, any reason), in the batches made since this process " +
        "started (dropsPerSec: their rate)",
      type: "counter",
      samples: [{ labels, value: agent?.monitoringTotals.dropPackets ?? 0 }],
    },
    {
      name: "ebpf_k8s_agent_record_keys_summed_total",
      help:
        'Records over a cap summed into "other" records (totals stay exact), as of the latest batch, since the boot',
      type: "counter",
      samples: RECORD_COUNTS.map(([module, summed]) => ({ labels: { node, module }, value: mon?.[summed] ?? 0 })),
    },
    {
      name: "ebpf_k8s_agent_records_cut_total",
      help: "Records left out of a batch too big for the control plane, as of the latest batch, since the boot",
      type: "counter",
      samples: RECORD_COUNTS.map(([module, , cut]) => ({ labels: { node, module }, value: mon?.[cut] ?? 0 })),
    },
    {
      name: "ebpf_k8s_agent_last_batch_timestamp_seconds",
      help: "Unix time of the latest batch (0 before the first)",
      type: "gauge",
      samples: [{ labels, value: last ? last.at / 1000 : 0 }],
    },
    {
      name: "ebpf_k8s_agent_scrape_timestamp_seconds",
      help: "When this answer was computed",
      type: "gauge",
      samples: [{ labels, value: now / 1000 }],
    },
  ];
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/** Serves /metrics, /healthz and /readyz; `agent()` is undefined until the agent has started. */
export function serveMetrics(
  o: { address: string; port: number; node: string; interval: number },
  agent: () => Agent | undefined,
  log: (msg: string) => void,
): Promise<MetricsServer> {
  const handler = (req: Request): Response => {
    const path = new URL(req.url).pathname;
    if (req.method !== "GET" && req.method !== "HEAD") return new Response("method not allowed\n", { status: 405 });
    if (path === "/metrics") {
      return new Response(exposition(agentMetrics(o.node, agent())), {
        headers: { "content-type": EXPOSITION_CONTENT_TYPE },
      });
    }
    if (path === "/healthz") return Response.json({ ok: true });
    if (path === "/readyz") {
      const a = agent();
      if (!a) return Response.json({ ready: false, reason: "starting" }, { status: 503 });
      const last = a.lastBatch?.at;
      if (last === undefined || Date.now() - last > readyWithinMs(o.interval)) {
        return Response.json({ ready: false, reason: "no batch made recently" }, { status: 503 });
      }
      return Response.json({ ready: true });
    }
    return new Response("not found\n", { status: 404 });
  };
  return new Promise((resolve, reject) => {
    try {
      const server = Deno.serve({
        hostname: o.address,
        port: o.port,
        onListen: ({ port }) => {
          log(
            `metrics and probes on http://${
              o.address.includes(":") ? `[${o.address}]` : o.address
            }:${port} (/metrics, /healthz, /readyz)`,
          );
          resolve({ port, close: () => server.shutdown() });
        },
      }, handler);
    } catch (e) {
      reject(e);
    }
  });
}
