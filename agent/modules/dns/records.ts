// SPDX-License-Identifier: Apache-2.0
/**
 * What the DNS reader hands over each interval: plain records, deltas since
 * the last read. These are the agent-side types until the wire has its own
 * (the control side and the batch come with the `dns` module's integration).
 *
 * A pod is its host veth's ifindex, as the kernel counts it; the pod
 * directory resolves it (pods/directory.ts byVeth), as for flows.
 *
 * Names are capped: the busiest names stay whole, the others are summed into
 * one record per pod with `name: null`, and when even that is too many, into
 * one for the node (ifindex 0). What the kernel could not hold per name (its
 * table full) arrives as that pod's "other" already. Counts stay exact: the
 * sum of the records is what was counted.
 */
import { addDnsServerCounts, MAX_DNS_NAME_RECORDS, MAX_DNS_RECORDS } from "../../../control/wire/dns.ts";
import { OTHER_PEER } from "../../../control/wire/monitoring.ts";
import { sumOverCap } from "../common/sum_over_cap.ts";
import { COUNTER_AT, LATENCY_BUCKETS, QTYPE_SLOTS, RCODE_SLOTS } from "./layout.ts";

/** A pod's DNS with one server (ip, port) over an interval. */
export interface DnsServerRecord {
  /** The pod's host veth. */
  ifindex: number;
  server: string;
  port: number;
  /** By query type, in QTYPE_SLOTS order. */
  queries: number[];
  /** Queries over TCP (also in queries). */
  tcp: number;
  /** By rcode, in RCODE_SLOTS order. */
  responses: number[];
  /** Answers with the TC bit. */
  truncated: number;
  /** Queries unanswered within the reader's timeout. */
  timeouts: number;
  /** Answers matched to their query, by latency bucket (LATENCY_BOUNDS_US; the last: slower). */
  latency: number[];
  /** Their latencies' sum, in µs (each rounded down). */
  latencySumUs: number;
}

/** A pod's queries for a name over an interval; `name: null` sums names over the cap (ifindex 0: of every pod). */
export interface DnsNameRecord {
  ifindex: number;
  name: string | null;
  queries: number;
  nxdomain: number;
}

/** At least one record per pod level "other" would not fit: the node level needs one. */
export const MIN_NAME_RECORDS = 1;
export const MAX_NAME_RECORDS = MAX_DNS_NAME_RECORDS;
/** Likewise for server records. */
export const MIN_SERVER_RECORDS = 1;
export const MAX_SERVER_RECORDS = MAX_DNS_RECORDS;

/** A server record from the kernel's counter deltas (SERVER_COUNTERS of them, in dns_server_stats order). */
export function serverRecord(key: { ifindex: number; server: string; port: number }, d: ArrayLike<number>) {
  const slice = (from: number, n: number) => Array.from({ length: n }, (_, i) => d[from + i] ?? 0);
  return {
    ifindex: key.ifindex,
    server: key.server,
    port: key.port,
    queries: slice(COUNTER_AT.queries, QTYPE_SLOTS.length),
    tcp: d[COUNTER_AT.queriesTcp] ?? 0,
    responses: slice(COUNTER_AT.responses, RCODE_SLOTS.length),
    truncated: d[COUNTER_AT.truncated] ?? 0,
    timeouts: 0,
    latency: slice(COUNTER_AT.latency, LATENCY_BUCKETS),
    latencySumUs: d[COUNTER_AT.latencySumUs] ?? 0,
  } satisfies DnsServerRecord;
}

/** An empty server record (one that only timed out this interval). */
export function emptyServerRecord(key: { ifindex: number; server: string; port: number }): DnsServerRecord {
  return serverRecord(key, []);
}

/** The key server records are merged by. */
export const serverId = (r: { ifindex: number; server: string; port: number }) => `${r.ifindex}|${r.server}|${r.port}`;

/**
 * Name records, at most `cap`: `names` per (pod, name) and `others`, what
 * the kernel already summed per pod. Returns the records and how many
 * (pod, name) keys the cap summed.
 */
export function nameRecords(
  names: DnsNameRecord[],
  others: DnsNameRecord[],
  cap: number,
): { records: DnsNameRecord[]; keysSummed: number } {
  const weight = (r: DnsNameRecord) => r.queries + r.nxdomain;
  // the busiest names first; the kernel's "other" entries last, so they are summed before any name
  const all = [...[...names].sort((a, b) => weight(b) - weight(a)), ...others];
  const { records, keysSummed } = sumOverCap<DnsNameRecord>({
    order: all.map((_, i) => i),
    cap,
    levels: [(i) => String(all[i].ifindex), () => "node"],
    record: (i) => ({ ...all[i] }),
    other: (level, i) => ({
      ifindex: level === 0 ? all[i].ifindex : 0,
      name: null,
      queries: all[i].queries,
      nxdomain: all[i].nxdomain,
    }),
    add: (o, i) => {
      o.queries += all[i].queries;
      o.nxdomain += all[i].nxdomain;
    },
    weight,
  });
  // the summed entries are the last ones: the kernel's "other" entries first, which are no (pod, name) key
  return { records, keysSummed: keysSummed - Math.min(others.length, keysSummed) };
}

/**
 * Server records, at most `cap`: the busiest (queries and timeouts) whole, the others summed per pod into a
 * record of server OTHER_PEER, port 0, and when even that is too many, into one of the node (ifindex 0).
 * Returns the records and how many (pod, server, port) keys the cap summed.
 */
export function serverRecords(
  servers: DnsServerRecord[],
  cap: number,
): { records: DnsServerRecord[]; keysSummed: number } {
  const weight = (r: DnsServerRecord) => r.queries.reduce((a, b) => a + b, 0) + r.timeouts;
  const all = [...servers].sort((a, b) => weight(b) - weight(a));
  return sumOverCap<DnsServerRecord>({
    order: all.map((_, i) => i),
    cap,
    levels: [(i) => String(all[i].ifindex), () => "node"],
    record: (i) => all[i],
    other: (level, i) => {
      const o = emptyServerRecord({ ifindex: level === 0 ? all[i].ifindex : 0, server: OTHER_PEER, port: 0 });
      addDnsServerCounts(o, all[i]);
      return o;
    },
    add: (o, i) => addDnsServerCounts(o, all[i]),
    weight,
  });
}
