// SPDX-License-Identifier: Apache-2.0
/**
 * What a (pod, server)'s summed DNS counters (DNS_SERVER_COUNTERS' order, control/queries/monitoring/dns.ts) say:
 * queries by type, answers by rcode, errors and their rate, latency quantiles and mean. The one place this is
 * computed: /api/v1/dns (control/routes/dns-json.ts), the pod and node pages' DNS panels and the service map's DNS
 * edges all read it.
 *
 * An error is an answer other than NOERROR (NXDOMAIN, SERVFAIL, REFUSED and the other rcodes); the error rate is
 * errors over answers. Timeouts are no answers: counted apart, in neither.
 */
import { MAX_COUNT } from "../db/counter-sums.ts";
import { DNS_LATENCY_BOUNDS_US, DNS_QTYPES, DNS_RCODES, type DnsQtype, type DnsRcode } from "../wire/dns.ts";
import { DNS_LATENCY_COLUMNS, DNS_QUERY_COLUMNS, DNS_RESPONSE_COLUMNS, DNS_SERVER_COUNTERS } from "./dns-counters.ts";
import { LATENCY_ABOVE_US, latencyQuantileUs } from "./dns-latency.ts";

export interface DnsLatency {
  /** Answers matched to their query (the histogram's total). */
  answered: number;
  sumUs: number;
  meanUs: number | null;
  /** Upper bounds of the buckets holding the quantiles (null: slower than aboveUs, or no answers). */
  p50Us: number | null;
  p95Us: number | null;
  p99Us: number | null;
  aboveUs: number;
  buckets: { leUs: number | null; count: number }[];
}

export interface DnsServerSummary {
  queries: Record<DnsQtype, number>;
  queriesTotal: number;
  responses: Record<DnsRcode, number>;
  responsesTotal: number;
  /** Answers other than NOERROR. */
  errors: number;
  /** errors / responsesTotal; null without answers. */
  errorRate: number | null;
  truncated: number;
  timeouts: number;
  /** Queries over TCP (in queries too). */
  tcp: number;
  latency: DnsLatency;
}

const at = (c: string) => DNS_SERVER_COUNTERS.indexOf(c as (typeof DNS_SERVER_COUNTERS)[number]);
const QUERY_AT = DNS_QUERY_COLUMNS.map(at);
const RESPONSE_AT = DNS_RESPONSE_COLUMNS.map(at);
const LATENCY_AT = DNS_LATENCY_COLUMNS.map(at);
const NOERROR_AT = DNS_RCODES.indexOf("NOERROR");

const total = (ns: readonly number[]) => Math.min(ns.reduce((a, b) => a + b, 0), MAX_COUNT);

/** `counts` in DNS_SERVER_COUNTERS' order. */
export function summarizeDnsServer(counts: readonly number[]): DnsServerSummary {
  const queries = QUERY_AT.map((i) => counts[i]!);
  const responses = RESPONSE_AT.map((i) => counts[i]!);
  const latency = LATENCY_AT.map((i) => counts[i]!);
  const responsesTotal = total(responses);
  const errors = total(responses.filter((_, i) => i !== NOERROR_AT));
  const answered = total(latency);
  const sumUs = counts[at("latency_sum_us")]!;
  return {
    queries: Object.fromEntries(DNS_QTYPES.map((t, i) => [t, queries[i]!])) as Record<DnsQtype, number>,
    queriesTotal: total(queries),
    responses: Object.fromEntries(DNS_RCODES.map((r, i) => [r, responses[i]!])) as Record<DnsRcode, number>,
    responsesTotal,
    errors,
    errorRate: responsesTotal === 0 ? null : errors / responsesTotal,
    truncated: counts[at("truncated")]!,
    timeouts: counts[at("timeouts")]!,
    tcp: counts[at("tcp")]!,
    latency: {
      answered,
      sumUs,
      meanUs: answered === 0 ? null : Math.round(sumUs / answered),
      p50Us: latencyQuantileUs(latency, 0.5),
      p95Us: latencyQuantileUs(latency, 0.95),
      p99Us: latencyQuantileUs(latency, 0.99),
      aboveUs: LATENCY_ABOVE_US,
      buckets: latency.map((count, i) => ({ leUs: DNS_LATENCY_BOUNDS_US[i] ?? null, count })),
    },
  };
}

/** Adds `more` into `into` (both in DNS_SERVER_COUNTERS' order), saturating as the stored sums do. */
export function addDnsCounts(into: number[], more: readonly number[]): number[] {
  for (let i = 0; i < into.length; i++) into[i] = Math.min(into[i]! + more[i]!, MAX_COUNT);
  return into;
}

/** Every counter zero, to add into. */
export const zeroDnsCounts = (): number[] => DNS_SERVER_COUNTERS.map(() => 0);
