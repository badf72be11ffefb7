// SPDX-License-Identifier: Apache-2.0
/**
 * DNS in a batch (wire version 6, issue 20): per pod and server, queries by type, answers by rcode, truncated
 * answers, timeouts and latency, and per pod the names asked for, deltas over the batch's interval. Counted in
 * the kernel by bpf/dns.bpf.c; the slot lists and latency bounds here are the ones bpf/include/dns.h numbers
 * (agent/modules/dns/layout_test.ts checks the C enums against these constants: one source for both).
 */
import { z } from "zod";
import { Counter, Ip, Port } from "./scalars.ts";

/** Query types counted apart, in the order of DnsServerRecord.queries (enum ek8s_dns_qtype_slot). */
export const DNS_QTYPES = [
  "A",
  "AAAA",
  "CNAME",
  "PTR",
  "MX",
  "TXT",
  "SRV",
  "NS",
  "SOA",
  "HTTPS",
  "ANY",
  "other",
] as const;
export type DnsQtype = typeof DNS_QTYPES[number];

/** Response codes counted apart, in the order of DnsServerRecord.responses (enum ek8s_dns_rcode_slot). */
export const DNS_RCODES = ["NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", "other"] as const;
export type DnsRcode = typeof DNS_RCODES[number];

/**
 * Upper bounds of the latency buckets in µs (enum ek8s_dns_latency_bounds_us): bucket i counts answers within
 * DNS_LATENCY_BOUNDS_US[i] (and above the bound before); one more bucket, the last, counts the slower ones.
 */
export const DNS_LATENCY_BOUNDS_US = [
  100,
  250,
  500,
  1000,
  2500,
  5000,
  10000,
  25000,
  50000,
  100000,
  250000,
  500000,
  1000000,
  2500000,
] as const;
export const DNS_LATENCY_BUCKETS = DNS_LATENCY_BOUNDS_US.length + 1;

/** Packets on a DNS port the program could not parse, by reason (MonitoringStats.dnsMalformed). */
export const DNS_MALFORMED_REASONS = [
  "shortHeader",
  "nameTooLong",
  "pointer",
  "badLabel",
  "shortQuestion",
  "qdcount",
] as const;

/** Caps per batch; records over an agent's cap are summed into "other" records, never dropped. */
export const MAX_DNS_RECORDS = 2000;
export const MAX_DNS_NAME_RECORDS = 2000;

/**
 * The name of a DnsNameRecord that sums names over the cap (or over the kernel's name table). A name in a record
 * is dotted text with every byte outside printable ASCII escaped as \DDD (a space among them), so no name asked
 * for can read as this marker.
 */
export const DNS_OTHER_NAME = "(other names)";

const PodUid = z.string().max(64);

/**
 * A pod's DNS with one server (address, port) over one interval. "Other" server records (what a cap summed) have
 * the server OTHER_PEER ("0.0.0.0", monitoring.ts) and port 0; without `pod`, they are the node's (every pod).
 */
export const DnsServerRecord = z.strictObject({
  /** uid of the asking pod; absent: the node's "other" record (or a veth the agent could not tie to a pod). */
  pod: PodUid.optional(),
  server: Ip,
  port: Port,
  /** Queries by type, in DNS_QTYPES order. */
  queries: z.array(Counter).length(DNS_QTYPES.length),
  /** Queries over TCP (counted in `queries` too). */
  tcp: Counter,
  /** Answers by rcode, in DNS_RCODES order. */
  responses: z.array(Counter).length(DNS_RCODES.length),
  /** Answers with the TC (truncated) bit. */
  truncated: Counter,
  /** Queries with no answer within the agent's timeout. */
  timeouts: Counter,
  /** Answers matched to their query, by latency bucket (DNS_LATENCY_BOUNDS_US; the last: slower). */
  latency: z.array(Counter).length(DNS_LATENCY_BUCKETS),
  /** The matched answers' latencies summed, in µs: with the buckets' total, an exact mean. */
  latencySumUs: Counter,
});
export type DnsServerRecord = z.infer<typeof DnsServerRecord>;

/** A server record's counters: numbers summed as they are, arrays (by type, rcode, latency bucket) by index. */
export const DNS_SERVER_SUMS = ["tcp", "truncated", "timeouts", "latencySumUs"] as const;
export const DNS_SERVER_ARRAYS = ["queries", "responses", "latency"] as const;
export type DnsServerCounts = Pick<
  DnsServerRecord,
  typeof DNS_SERVER_SUMS[number] | typeof DNS_SERVER_ARRAYS[number]
>;

/** Adds `r`'s counters into `into` (an "other" record, two intervals merged): totals stay exact. */
export function addDnsServerCounts(into: DnsServerCounts, r: DnsServerCounts): void {
  for (const k of DNS_SERVER_ARRAYS) r[k].forEach((n, j) => into[k][j] = (into[k][j] ?? 0) + n);
  for (const k of DNS_SERVER_SUMS) into[k] += r[k];
}

/** A pod's queries for one name over one interval; `name` DNS_OTHER_NAME sums the names over the caps. */
export const DnsNameRecord = z.strictObject({
  /** uid of the asking pod; absent: the node's "other" record. */
  pod: PodUid.optional(),
  /** Dotted, lowercase, without the final dot ("" is the root); at most 255 bytes, each escaped in up to 4. */
  name: z.string().max(1024),
  queries: Counter,
  /** Of those, answered NXDOMAIN. */
  nxdomain: Counter,
});
export type DnsNameRecord = z.infer<typeof DnsNameRecord>;

/** Batch.dns: absent when the dns module is off. */
export const DnsRecords = z.strictObject({
  servers: z.array(DnsServerRecord).max(MAX_DNS_RECORDS),
  names: z.array(DnsNameRecord).max(MAX_DNS_NAME_RECORDS),
});
export type DnsRecords = z.infer<typeof DnsRecords>;

/** The dns module's table statistics in MonitoringStats (all optional: agents before version 6 lack them). */
export const DnsMonitoringStats = {
  /** (pod, server) entries in the kernel's table, and its size. */
  dnsServerEntries: Counter.optional(),
  dnsServerTableSize: Counter.optional(),
  /** (pod, server) entries the LRU evicted before they were read, cumulative per boot. */
  dnsServersEvicted: Counter.optional(),
  /** Queries waiting for their answer, and those the LRU evicted before answer or timeout (cumulative). */
  dnsPendingEntries: Counter.optional(),
  dnsPendingEvicted: Counter.optional(),
  /** (pod, name) entries in the kernel's table; queries counted in their pod's "other" as it was full (cumulative). */
  dnsNameEntries: Counter.optional(),
  dnsNamesFull: Counter.optional(),
  /**
   * What the kernel counted and could store nowhere (cumulative): packets whose (pod, server) entry could not be
   * made (the table full of entries just made), and names whose pod's "other" entry could not be made either.
   * Their queries and answers are in no record: these say how many.
   */
  dnsServersFailed: Counter.optional(),
  dnsNamesOtherFailed: Counter.optional(),
  /** (pod, name) and (pod, server) keys the record caps summed into "other" records, cumulative per boot. */
  dnsNamesSummed: Counter.optional(),
  dnsServersSummed: Counter.optional(),
  /** Packets on a DNS port not parsed, by reason (cumulative). */
  dnsMalformed: z.strictObject(
    Object.fromEntries(DNS_MALFORMED_REASONS.map((r) => [r, Counter])) as Record<
      typeof DNS_MALFORMED_REASONS[number],
      typeof Counter
    >,
  ).optional(),
};

/** The fields version 6 added to MonitoringStats (version.ts ADDED_IN). */
export const DNS_MONITORING_FIELDS = Object.keys(DnsMonitoringStats);
