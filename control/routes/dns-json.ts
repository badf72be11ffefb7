/** /api/v1/dns's JSON (control/routes/monitoring.ts) from the summed rows of control/queries/monitoring/dns.ts. */
import type { StoredEndpoint } from "../monitoring/attribution.ts";
import {
  DNS_LATENCY_COLUMNS,
  DNS_QUERY_COLUMNS,
  DNS_RESPONSE_COLUMNS,
  DNS_SERVER_COUNTERS,
} from "../monitoring/dns-counters.ts";
import { LATENCY_ABOVE_US, latencyQuantileUs } from "../monitoring/dns-latency.ts";
import type { DnsNameSum, DnsResult, DnsServerSum } from "../queries/monitoring/dns.ts";
import { DNS_LATENCY_BOUNDS_US, DNS_QTYPES, DNS_RCODES } from "../wire/dns.ts";
import { endpointJson } from "./monitoring-json.ts";

const at = (c: string) => DNS_SERVER_COUNTERS.indexOf(c as (typeof DNS_SERVER_COUNTERS)[number]);
const byName = (names: readonly string[], columns: readonly string[], counts: readonly number[]) =>
  Object.fromEntries(names.map((n, i) => [n, counts[at(columns[i]!)]!]));

/** The pod of a stored key: its Endpoint, or null for "" (the nodes' "other" record). */
type PodOf = (key: string) => StoredEndpoint | undefined;

function serverJson(s: DnsServerSum, podOf: PodOf) {
  const c = s.counts;
  const latency = DNS_LATENCY_COLUMNS.map((col) => c[at(col)]!);
  const answered = latency.reduce((a, b) => a + b, 0);
  const sumUs = c[at("latency_sum_us")]!;
  return {
    pod: podJson(s.pod, podOf),
    server: s.server,
    port: s.port,
    queries: byName(DNS_QTYPES, DNS_QUERY_COLUMNS, c),
    responses: byName(DNS_RCODES, DNS_RESPONSE_COLUMNS, c),
    truncated: c[at("truncated")]!,
    timeouts: c[at("timeouts")]!,
    tcp: c[at("tcp")]!,
    latency: {
      answered,
      sumUs,
      meanUs: answered === 0 ? null : Math.round(sumUs / answered),
      // Upper bounds of the buckets holding the quantiles (null: slower than aboveUs, or no answers).
      p50Us: latencyQuantileUs(latency, 0.5),
      p95Us: latencyQuantileUs(latency, 0.95),
      p99Us: latencyQuantileUs(latency, 0.99),
      aboveUs: LATENCY_ABOVE_US,
      buckets: latency.map((count, i) => ({ leUs: DNS_LATENCY_BOUNDS_US[i] ?? null, count })),
    },
  };
}

function podJson(key: string, podOf: PodOf) {
  const e = key === "" ? undefined : podOf(key);
  return e === undefined ? null : endpointJson(e);
}

const nameJson = (n: DnsNameSum) => ({ name: n.name, queries: n.queries, nxdomain: n.nxdomain });

export function dnsJson(r: DnsResult, podOf: PodOf) {
  return {
    servers: r.servers.map((s) => serverJson(s, podOf)),
    names: [...r.topNames].map(([pod, lists]) => ({
      pod: podJson(pod, podOf),
      byQueries: lists.byQueries.map(nameJson),
      byNxdomain: lists.byNxdomain.map(nameJson),
    })),
  };
}
