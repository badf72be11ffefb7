// SPDX-License-Identifier: Apache-2.0
/**
 * Mirror of bpf/include/dns.h (layout_test.ts checks the structs and every
 * enum against the BTF of build/bpf/dns.bpf.o): the C header is the one
 * source of each constant but those the batch is indexed by (slot lists,
 * latency bounds: the wire's, control/wire/dns.ts, which C must equal).
 */
import { DNS_LATENCY_BOUNDS_US, DNS_LATENCY_BUCKETS, DNS_QTYPES, DNS_RCODES } from "../../../control/wire/dns.ts";
import { addrText } from "../flows/layout.ts";

/** enum ek8s_dns_limits */
export const DNS_LIMITS = {
  DNS_PORT: 53,
  DNS_PORT_SLOTS: 8,
  DNS_NAME_MAX: 255,
  DNS_NAME_BYTES: 256,
  DNS_SERVERS_DEFAULT_ENTRIES: 4096,
  DNS_PENDING_DEFAULT_ENTRIES: 16384,
  DNS_NAMES_DEFAULT_ENTRIES: 8192,
  DNS_PODS_DEFAULT_ENTRIES: 1024,
} as const;

/**
 * The slot lists and latency bounds are the wire's (control/wire/dns.ts), which the batch's records are indexed
 * by: the C enums ek8s_dns_qtype_slot, ek8s_dns_rcode_slot and ek8s_dns_latency_bounds_us must equal them.
 */
export const QTYPE_SLOTS = DNS_QTYPES;
export type QtypeName = typeof QTYPE_SLOTS[number];
export const RCODE_SLOTS = DNS_RCODES;
export type RcodeName = typeof RCODE_SLOTS[number];
export const LATENCY_BOUNDS_US = DNS_LATENCY_BOUNDS_US;
export const LATENCY_BUCKETS = DNS_LATENCY_BUCKETS;

/** enum ek8s_dns_stat, in slot order (dns_stats). */
export const DNS_STATS = [
  "shortHeader",
  "nameTooLong",
  "pointer",
  "badLabel",
  "shortQuestion",
  "notTracked",
  "qdcount",
  "served",
  "pendingCreated",
  "matched",
  "retransmits",
  "unmatched",
  "pendingFailed",
  "serversCreated",
  "serversFailed",
  "namesCreated",
  "namesFull",
  "otherFailed",
] as const;
export type DnsStatName = typeof DNS_STATS[number];

export const DNS_STRUCTS = {
  dns_config: { fields: [["ports", 0]], size: 16 },
  dns_server_key: { fields: [["ifindex", 0], ["port", 4], ["pad", 6], ["server", 8]], size: 24 },
  dns_server_stats: {
    fields: [
      ["created_ns", 0],
      ["queries", 8],
      ["queries_tcp", 104],
      ["responses", 112],
      ["truncated", 152],
      ["latency", 160],
      ["latency_sum_us", 280],
    ],
    size: 288,
  },
  dns_pending_key: {
    fields: [
      ["ifindex", 0],
      ["id", 4],
      ["client_port", 6],
      ["server_port", 8],
      ["proto", 10],
      ["pad", 11],
      ["client", 12],
      ["server", 28],
    ],
    size: 44,
  },
  dns_pending_value: { fields: [["sent_ns", 0]], size: 8 },
  dns_name_key: { fields: [["ifindex", 0], ["len", 4], ["hash", 8]], size: 16 },
  dns_name_stats: { fields: [["queries", 0], ["nxdomain", 8]], size: 16 },
  dns_name_value: { fields: [["stats", 0], ["name", 16]], size: 272 },
} as const satisfies Record<string, { fields: readonly (readonly [string, number])[]; size: number }>;

const at = (struct: keyof typeof DNS_STRUCTS, field: string) =>
  (DNS_STRUCTS[struct].fields as readonly (readonly [string, number])[]).find(([f]) => f === field)![1];

/** Byte offsets of dns_server_stats' fields (values are read in place). */
export const SERVER_AT = Object.fromEntries(DNS_STRUCTS.dns_server_stats.fields) as Record<
  "created_ns" | "queries" | "queries_tcp" | "responses" | "truncated" | "latency" | "latency_sum_us",
  number
>;
/** dns_server_stats' counters (every u64 after created_ns), in order: the DeltaTracker's fields. */
export const SERVER_COUNTERS = (DNS_STRUCTS.dns_server_stats.size - at("dns_server_stats", "queries")) / 8;
/** Index of each counter group within SERVER_COUNTERS. */
export const COUNTER_AT = {
  queries: 0,
  queriesTcp: QTYPE_SLOTS.length,
  responses: QTYPE_SLOTS.length + 1,
  truncated: QTYPE_SLOTS.length + 1 + RCODE_SLOTS.length,
  latency: QTYPE_SLOTS.length + 2 + RCODE_SLOTS.length,
  latencySumUs: QTYPE_SLOTS.length + 2 + RCODE_SLOTS.length + LATENCY_BUCKETS,
} as const;

export interface DnsServerKey {
  ifindex: number;
  port: number;
  server: string;
}

export function decodeServerKey(k: Uint8Array): DnsServerKey {
  const dv = new DataView(k.buffer, k.byteOffset, k.byteLength);
  return { ifindex: dv.getUint32(0, true), port: dv.getUint16(4, true), server: addrText(k.subarray(8, 24)) };
}

export interface DnsPendingKey {
  ifindex: number;
  server: string;
  serverPort: number;
}

/** What a timed-out query is counted under: its pod and server. */
export function decodePendingKey(k: Uint8Array): DnsPendingKey {
  const dv = new DataView(k.buffer, k.byteOffset, k.byteLength);
  return { ifindex: dv.getUint32(0, true), serverPort: dv.getUint16(8, true), server: addrText(k.subarray(28, 44)) };
}

export interface DnsName {
  ifindex: number;
  /** Dotted text, without the final dot ("" for the root). */
  name: string;
}

/**
 * A dns_names entry's name as text (the key's pod and length, the value's
 * bytes): labels joined with dots. Bytes outside printable ASCII, and dots
 * and backslashes inside a label, are escaped as \DDD (RFC 1035 master-file
 * form), so two different names never print the same.
 */
export function decodeName(key: Uint8Array, value: Uint8Array): DnsName {
  const dv = new DataView(key.buffer, key.byteOffset, key.byteLength);
  const len = Math.min(dv.getUint32(4, true), DNS_LIMITS.DNS_NAME_MAX);
  const start = at("dns_name_value", "name");
  const name = value.subarray(start, start + len);
  const labels: string[] = [];
  for (let i = 0; i < name.length && name[i] !== 0;) {
    const n = name[i];
    let label = "";
    for (const b of name.subarray(i + 1, i + 1 + n)) {
      label += b > 0x20 && b < 0x7f && b !== 0x2e && b !== 0x5c
        ? String.fromCharCode(b)
        : `\\${String(b).padStart(3, "0")}`;
    }
    labels.push(label);
    i += 1 + n;
  }
  return { ifindex: dv.getUint32(0, true), name: labels.join(".") };
}

/** A dns_names entry for a name, lowercased as the program stores it, counters zero (tests); the key's hash left 0. */
export function encodeName(ifindex: number, name: string): { key: Uint8Array; value: Uint8Array } {
  const key = new Uint8Array(DNS_STRUCTS.dns_name_key.size);
  const value = new Uint8Array(DNS_STRUCTS.dns_name_value.size);
  const start = at("dns_name_value", "name");
  let o = start;
  for (const label of name ? name.toLowerCase().split(".") : []) {
    value[o++] = label.length;
    for (const c of label) value[o++] = c.charCodeAt(0);
  }
  value[o++] = 0;
  const dv = new DataView(key.buffer);
  dv.setUint32(0, ifindex, true);
  dv.setUint32(4, o - start, true);
  return { key, value };
}
