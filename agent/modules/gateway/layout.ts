/**
 * Mirror of bpf/include/gateway.h (layout_test.ts checks it against the BTF
 * of build/bpf/gateway.bpf.o). Frontends, backends and tables use the lb
 * layout (../lb/layout.ts). Addresses and ports in network byte order, the
 * SNAT port range in host order.
 */
import { putIpv4 } from "../lb/layout.ts";

/** enum ek8s_gw_limits */
export const GW_LIMITS = { GW_FILTER_WORDS: 1024, GW_MAX_DESTS: 4096, GW_CT_DEFAULT_ENTRIES: 65536, GW_SNAT_TRIES: 8, GW_HOP_JIFFIES: 256 } as const;

/** enum ek8s_gw_dest_flags */
export const GW_DEST = { VIP: 1, NODE: 2, SNAT: 4 } as const;

export const GW_COUNTER_NAMES = ["flows", "tracked", "replies", "icmp", "no_backend", "snat_busy", "fragments", "malformed", "to_stack", "ttl"] as const;
export type GwCounterName = (typeof GW_COUNTER_NAMES)[number];

export const GW_STRUCTS = {
  gw_filter: { fields: [["bits", 0]], size: 8 * GW_LIMITS.GW_FILTER_WORDS },
  gw_config: { fields: [["snat_ip", 0], ["snat_port_min", 4], ["snat_port_max", 6]], size: 8 },
  gw_ct_key: { fields: [["client_ip", 0], ["dst_ip", 4], ["client_port", 8], ["dst_port", 10], ["proto", 12], ["pad", 13]], size: 16 },
  gw_hop: { fields: [["ifindex", 0], ["at", 4], ["dmac", 8], ["smac", 14]], size: 20 },
  gw_ct: { fields: [["backend_ip", 0], ["backend_port", 4], ["snat_port", 6], ["service_id", 8], ["backend_id", 12], ["hop", 16]], size: 36 },
  gw_rev_key: { fields: [["backend_ip", 0], ["backend_port", 4], ["snat_port", 6], ["proto", 8], ["pad", 9]], size: 12 },
  gw_rev: { fields: [["client_ip", 0], ["dst_ip", 4], ["client_port", 8], ["dst_port", 10], ["service_id", 12], ["hop", 16]], size: 36 },
  gw_svc_stats: { fields: [["packets_in", 0], ["bytes_in", 8], ["packets_out", 16], ["bytes_out", 24]], size: 32 },
  gw_counters: { fields: GW_COUNTER_NAMES.map((n, i) => [n, i * 8] as const), size: 8 * GW_COUNTER_NAMES.length },
} as const satisfies Record<string, { fields: readonly (readonly [string, number])[]; size: number }>;

/** The bit of gw_filter an address sets: dest_hash() of gateway.bpf.c over the address as the kernel loads it (little-endian u32). */
export function filterBit(ip: string): number {
  const b = new Uint8Array(4);
  putIpv4(b, 0, ip);
  const le = new DataView(b.buffer).getUint32(0, true);
  return Math.imul(le, 0x9e3779b1) >>> 16;
}

/** struct gw_filter with the bits of `ips`. */
export function encodeFilter(ips: Iterable<string>): Uint8Array {
  const words = new Uint32Array(GW_LIMITS.GW_FILTER_WORDS * 2); // little-endian u64 words as pairs of u32
  for (const ip of ips) {
    const bit = filterBit(ip);
    words[(bit >> 5)] |= 1 << (bit & 31);
  }
  return new Uint8Array(words.buffer);
}

export function encodeConfig(snatIp: string, portMin: number, portMax: number): Uint8Array {
  const b = new Uint8Array(GW_STRUCTS.gw_config.size);
  putIpv4(b, 0, snatIp);
  const dv = new DataView(b.buffer);
  dv.setUint16(4, portMin, true);
  dv.setUint16(6, portMax, true);
  return b;
}
