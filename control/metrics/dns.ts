// SPDX-License-Identifier: Apache-2.0
/**
 * The DNS families of /metrics (issue 20): per node, what its pods asked and were answered since the node's
 * first DNS report, from dns_node_totals (summed at ingest with the batch and never pruned, so every series only
 * grows, and every replica reads the same). Labels: node, and the fixed slot lists of the wire (qtype:
 * DNS_QTYPES, rcode: DNS_RCODES, le: DNS_LATENCY_BOUNDS_US); never a name, a pod or an address. Per pod and per
 * name: GET /api/v1/dns. Names and meanings: docs/prometheus.md.
 */
import { asc } from "drizzle-orm";
import type { Db } from "../db/client.ts";
import { MAX_COUNT } from "../db/counter-sums.ts";
import { dnsNodeTotals } from "../db/schema.ts";
import { DNS_LATENCY_COLUMNS, DNS_QUERY_COLUMNS, DNS_RESPONSE_COLUMNS } from "../monitoring/dns-counters.ts";
import { DNS_LATENCY_BOUNDS_US, DNS_QTYPES, DNS_RCODES } from "../wire/dns.ts";
import type { Family } from "../wire/exposition.ts";

type Totals = Record<string, number> & { node: string };

const SINCE = "since the node's first DNS report";

/** One sample per node of a counter with no label but the node. */
const perNode = (rows: Totals[], column: string): Family["samples"] =>
  rows.map((r) => ({ labels: { node: r.node }, value: r[column]! }));

/** One sample per node and slot of a fixed list (qtype, rcode): the slot's column. */
const perSlot = (
  rows: Totals[],
  label: string,
  slots: readonly string[],
  columns: readonly string[],
): Family["samples"] =>
  rows.flatMap((r) => slots.map((slot, i) => ({ labels: { node: r.node, [label]: slot }, value: r[columns[i]!]! })));

/** A node's latency histogram: cumulative `le` buckets in seconds, then +Inf, _sum and _count. */
function latencySamples(r: Totals): Family["samples"] {
  const labels = { node: r.node };
  let seen = 0;
  const buckets = DNS_LATENCY_COLUMNS.map((c) => (seen = Math.min(seen + r[c]!, MAX_COUNT)));
  return [
    ...DNS_LATENCY_BOUNDS_US.map((us, i) => ({
      suffix: "_bucket" as const,
      labels: { ...labels, le: String(us / 1e6) },
      value: buckets[i]!,
    })),
    { suffix: "_bucket", labels: { ...labels, le: "+Inf" }, value: seen },
    { suffix: "_sum", labels, value: r.latency_sum_us! / 1e6 },
    { suffix: "_count", labels, value: seen },
  ];
}

export async function dnsFamilies(db: Db): Promise<Family[]> {
  const rows = (await db.select().from(dnsNodeTotals).orderBy(asc(dnsNodeTotals.node))) as unknown as Totals[];
  return [
    {
      name: "ebpf_k8s_dns_queries_total",
      help: `DNS queries the node's pods sent, by query type (${DNS_QTYPES.join(", ")}), ${SINCE}`,
      type: "counter",
      samples: perSlot(rows, "qtype", DNS_QTYPES, DNS_QUERY_COLUMNS),
    },
    {
      name: "ebpf_k8s_dns_tcp_queries_total",
      help: `DNS queries over TCP (counted in ebpf_k8s_dns_queries_total too), ${SINCE}`,
      type: "counter",
      samples: perNode(rows, "tcp"),
    },
    {
      name: "ebpf_k8s_dns_responses_total",
      help: `DNS answers the node's pods received, by response code (${DNS_RCODES.join(", ")}), ${SINCE}`,
      type: "counter",
      samples: perSlot(rows, "rcode", DNS_RCODES, DNS_RESPONSE_COLUMNS),
    },
    {
      name: "ebpf_k8s_dns_truncated_total",
      help: `DNS answers with the TC (truncated) bit, ${SINCE}`,
      type: "counter",
      samples: perNode(rows, "truncated"),
    },
    {
      name: "ebpf_k8s_dns_timeouts_total",
      help: `DNS queries with no answer within the agent's timeout, ${SINCE}`,
      type: "counter",
      samples: perNode(rows, "timeouts"),
    },
    {
      name: "ebpf_k8s_dns_latency_seconds",
      help: `Time from a DNS query to its answer (answers matched to their query), ${SINCE}`,
      type: "histogram",
      samples: rows.flatMap(latencySamples),
    },
  ];
}
