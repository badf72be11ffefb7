// SPDX-License-Identifier: Apache-2.0
/**
 * The counters of a DnsServerRecord as flat, named columns (dns_server_stats in control/db/schema.ts, the
 * store's upserts and /api/v1/dns all read this list): queries by type, tcp, responses by rcode, truncated,
 * timeouts, the latency buckets and the latency sum. Derived from the wire's slot lists (control/wire/dns.ts),
 * so a slot added there is a column here (and a migration).
 */
import { DNS_LATENCY_BUCKETS, DNS_QTYPES, DNS_RCODES, type DnsServerRecord } from "../wire/dns.ts";

const slug = (s: string) => s.toLowerCase();

export const DNS_QUERY_COLUMNS = DNS_QTYPES.map((t) => `q_${slug(t)}`);
export const DNS_RESPONSE_COLUMNS = DNS_RCODES.map((r) => `r_${slug(r)}`);
export const DNS_LATENCY_COLUMNS = [...Array(DNS_LATENCY_BUCKETS).keys()].map((i) => `lat_${i}`);

export const DNS_SERVER_COUNTERS = [
  ...DNS_QUERY_COLUMNS,
  "tcp",
  ...DNS_RESPONSE_COLUMNS,
  "truncated",
  "timeouts",
  ...DNS_LATENCY_COLUMNS,
  "latency_sum_us",
] as const;
export type DnsServerCounter = string;

/** A record's counters in DNS_SERVER_COUNTERS' order. */
export function dnsServerCounts(r: DnsServerRecord): number[] {
  return [...r.queries, r.tcp, ...r.responses, r.truncated, r.timeouts, ...r.latency, r.latencySumUs];
}
