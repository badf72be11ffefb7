// SPDX-License-Identifier: Apache-2.0
/** DNS records for tests (wire version 6, control/wire/dns.ts), every counter zero unless given. */
import { DNS_LATENCY_BUCKETS, DNS_QTYPES, DNS_RCODES, type DnsNameRecord, type DnsServerRecord } from "../wire/dns.ts";

type Slots<T extends string> = Partial<Record<T, number>>;

export function dnsServer(
  o: {
    pod?: string;
    server?: string;
    port?: number;
    queries?: Slots<(typeof DNS_QTYPES)[number]>;
    responses?: Slots<(typeof DNS_RCODES)[number]>;
    /** Bucket index → count. */
    latency?: Record<number, number>;
  } & Partial<Pick<DnsServerRecord, "tcp" | "truncated" | "timeouts" | "latencySumUs">>,
): DnsServerRecord {
  return {
    ...(o.pod === undefined ? {} : { pod: o.pod }),
    server: o.server ?? "10.96.0.10",
    port: o.port ?? 53,
    queries: DNS_QTYPES.map((t) => o.queries?.[t] ?? 0),
    tcp: o.tcp ?? 0,
    responses: DNS_RCODES.map((r) => o.responses?.[r] ?? 0),
    truncated: o.truncated ?? 0,
    timeouts: o.timeouts ?? 0,
    latency: [...Array(DNS_LATENCY_BUCKETS).keys()].map((i) => o.latency?.[i] ?? 0),
    latencySumUs: o.latencySumUs ?? 0,
  };
}

export const dnsName = (pod: string | undefined, name: string, queries: number, nxdomain = 0): DnsNameRecord => ({
  ...(pod === undefined ? {} : { pod }),
  name,
  queries,
  nxdomain,
});

/**
 * The busy record the API and page tests share: `pod` → 10.96.0.10:53, 102 queries (A 60, AAAA 40, HTTPS 2),
 * 90 NOERROR and 10 NXDOMAIN answers, 3 over TCP, 1 truncated, 2 timeouts; of the 100 answers 50 within 100 µs,
 * 45 within 1 ms, 4 within 10 ms and 1 slower than the last bound, 3.1 s in all.
 */
export const busyDnsServer = (pod: string): DnsServerRecord =>
  dnsServer({
    pod,
    queries: { A: 60, AAAA: 40, HTTPS: 2 },
    responses: { NOERROR: 90, NXDOMAIN: 10 },
    tcp: 3,
    truncated: 1,
    timeouts: 2,
    latency: { 0: 50, 3: 45, 6: 4, 14: 1 },
    latencySumUs: 3_100_000,
  });
