// SPDX-License-Identifier: Apache-2.0
/**
 * Mirror of bpf/include/gateway.h (layout_test.ts checks it against the BTF
 * of build/bpf/gateway.bpf.o). Frontends, backends and tables use the lb
 * layout (../lb/layout.ts). Addresses and ports in network byte order, the
 * SNAT port range in host order.
 */
import { putIpv4 } from "../lb/layout.ts";
import type { FlowTimeouts } from "./timeouts.ts";

/** enum ek8s_gw_limits */
export const GW_LIMITS = {
  GW_ADDR_SLOTS: 16384,
  GW_MAX_DESTS: 4096,
  GW_ADDR_PROBES: 8,
  GW_FLOW_CACHE_SLOTS: 1024,
  GW_PCPU_STATS_IDS: 4096,
  GW_CT_DEFAULT_ENTRIES: 65536,
  GW_SNAT_TRIES: 8,
  GW_SNAT_FULL_ENTRIES: 4096,
  GW_EXPIRE_CPUS: 1024,
  GW_HOP_JIFFIES: 256,
  GW_FE_STATS_ENTRIES: 8192,
} as const;

/** enum ek8s_gw_dest_flags */
export const GW_DEST = { VIP: 1, NODE: 2, SNAT: 4 } as const;

/** enum ek8s_gw_neigh: struct gw_neigh_meta's mark (gw_xdp -> gw_tc_neigh). */
export const GW_NEIGH_MAGIC = 0x65b8e1a5;

/** enum ek8s_gw_flow_flags: gw_ct.flags and gw_rev.flags (what each direction of a flow showed). */
export const GW_FLOW = { FIN: 1, SYN: 2, RST: 4, REPLIED: 64 } as const;

export const GW_COUNTER_NAMES = [
  "flows",
  "tracked",
  "replies",
  "icmp",
  "no_backend",
  "snat_busy",
  "fragments",
  "malformed",
  "to_stack",
  "ttl",
  "neigh_redirects",
  "neigh_to_tc",
  "expired",
  "snat_scans",
] as const;
export type GwCounterName = (typeof GW_COUNTER_NAMES)[number];

/** struct gw_fe_stats: a frontend's events (gw_fe_stats, per CPU), in field order. */
export const GW_FE_COUNTER_NAMES = ["flows", "no_backend", "snat_busy", "to_stack", "expired"] as const;
export type GwFeCounterName = (typeof GW_FE_COUNTER_NAMES)[number];

export const GW_STRUCTS = {
  gw_addr: { fields: [["addr", 0], ["flags", 4]], size: 8 },
  gw_config: {
    fields: [
      ["snat_ip", 0],
      ["snat_port_min", 4],
      ["snat_port_max", 6],
      ["clock_ms", 8],
      ["timeout_syn_ms", 12],
      ["timeout_established_ms", 16],
      ["timeout_closing_ms", 20],
      ["timeout_udp_ms", 24],
      ["swept_ms", 28],
      ["clock_step_max_ms", 32],
    ],
    size: 36,
  },
  gw_ct_key: {
    fields: [["client_ip", 0], ["dst_ip", 4], ["client_port", 8], ["dst_port", 10], ["proto", 12], ["pad", 13]],
    size: 16,
  },
  gw_hop: { fields: [["ifindex", 0], ["at", 4], ["dmac", 8], ["smac", 14]], size: 20 },
  gw_ct: {
    fields: [
      ["backend_ip", 0],
      ["backend_port", 4],
      ["snat_port", 6],
      ["service_id", 8],
      ["backend_id", 12],
      ["hop", 16],
      ["seen", 36],
      ["flags", 40],
      ["pad", 41],
    ],
    size: 44,
  },
  gw_rev_key: {
    fields: [["backend_ip", 0], ["backend_port", 4], ["snat_port", 6], ["proto", 8], ["pad", 9]],
    size: 12,
  },
  gw_rev: {
    fields: [
      ["client_ip", 0],
      ["dst_ip", 4],
      ["client_port", 8],
      ["dst_port", 10],
      ["service_id", 12],
      ["hop", 16],
      ["seen", 36],
      ["flags", 40],
      ["pad", 41],
    ],
    size: 44,
  },
  gw_flow_slot: { fields: [["key", 0], ["ct", 16], ["at", 60]], size: 64 },
  gw_svc_stats: { fields: [["packets_in", 0], ["bytes_in", 8], ["packets_out", 16], ["bytes_out", 24]], size: 32 },
  gw_counters: { fields: GW_COUNTER_NAMES.map((n, i) => [n, i * 8] as const), size: 8 * GW_COUNTER_NAMES.length },
  gw_neigh_meta: { fields: [["magic", 0], ["ifindex", 4], ["nexthop", 8]], size: 12 },
  gw_fe_stats: {
    fields: GW_FE_COUNTER_NAMES.map((n, i) => [n, i * 8] as const),
    size: 8 * GW_FE_COUNTER_NAMES.length,
  },
} as const satisfies Record<string, { fields: readonly (readonly [string, number])[]; size: number }>;

/** The first slot of gw_addrs an address probes: dest_flags() of gateway.bpf.c over the address as the kernel loads it (little-endian u32). */
export function addrHome(ip: string): number {
  const b = new Uint8Array(4);
  putIpv4(b, 0, ip);
  const le = new DataView(b.buffer).getUint32(0, true);
  return Math.imul(le, 0x9e3779b1) >>> 18;
}

/** A gw_addrs slot as the agent sees it: "" is empty; flags 0 with an address is a removed one (see gateway.h). */
export interface AddrSlot {
  addr: string;
  flags: number;
}

/**
 * The slot writes that make gw_addrs hold `wanted` (address -> GW_DEST
 * flags), given what its slots hold now: an address keeps its slot, a new
 * one takes the first free or removed slot of its probes, one no longer
 * wanted is marked removed (and removed slots that end a probe run become
 * empty again). No address moves, so a lookup during the writes finds every
 * address that stays. Throws, writing nothing, when an address cannot be
 * placed within GW_ADDR_PROBES slots or is 0.0.0.0 (the empty mark).
 */
export function placeAddresses(slots: readonly AddrSlot[], wanted: ReadonlyMap<string, number>): Map<number, AddrSlot> {
  const n = GW_LIMITS.GW_ADDR_SLOTS;
  if (slots.length !== n) throw new Error(`gateway: gw_addrs has ${slots.length} slots, not ${n}`);
  if (wanted.size > GW_LIMITS.GW_MAX_DESTS) {
    throw new Error(`gateway: ${wanted.size} addresses, more than the gateway answers on (${GW_LIMITS.GW_MAX_DESTS})`);
  }
  const next = slots.map((s) => ({ ...s }));
  const writes = new Map<number, AddrSlot>();
  const set = (i: number, s: AddrSlot) => {
    next[i] = s;
    writes.set(i, s);
  };
  const where = new Map<string, number>();
  next.forEach((s, i) => s.addr && where.set(s.addr, i));
  for (const [addr, i] of where) if (!wanted.has(addr) && next[i]!.flags) set(i, { addr, flags: 0 });
  for (const [addr, flags] of wanted) {
    if (addr === "0.0.0.0" || !flags) throw new Error(`gateway: ${addr} cannot be a gateway address`);
    const at = where.get(addr);
    if (at !== undefined) {
      if (next[at]!.flags !== flags) set(at, { addr, flags });
      continue;
    }
    const home = addrHome(addr);
    let placed = false;
    for (let p = 0; p < GW_LIMITS.GW_ADDR_PROBES && !placed; p++) {
      const i = (home + p) & (n - 1);
      if (!next[i]!.addr || !next[i]!.flags) {
        set(i, { addr, flags });
        where.set(addr, i);
        placed = true;
      }
    }
    if (!placed) {
      throw new Error(`gateway: no free slot for ${addr} within ${GW_LIMITS.GW_ADDR_PROBES} probes of gw_addrs`);
    }
  }
  // a removed slot followed by an empty one ends every probe run through it: empty it (backwards)
  for (let i = n - 1; i >= 0; i--) {
    const s = next[i]!;
    if (s.addr && !s.flags && !next[(i + 1) & (n - 1)]!.addr) set(i, { addr: "", flags: 0 });
  }
  return writes;
}

export function encodeAddrSlot(s: AddrSlot): Uint8Array {
  const b = new Uint8Array(GW_STRUCTS.gw_addr.size);
  if (s.addr) putIpv4(b, 0, s.addr);
  new DataView(b.buffer).setUint32(4, s.flags, true);
  return b;
}

/**
 * gw_config: the SNAT address and ports, the flow timeouts (seconds, written in ms) and the most one gw_expire run
 * advances the clock by; the clock (clock_ms, swept_ms: gw_expire's to write) from `running`, the config a running
 * program uses (adopted), else 0.
 */
export function encodeConfig(
  snatIp: string,
  portMin: number,
  portMax: number,
  t: FlowTimeouts,
  clockStepMaxMs: number,
  running?: Uint8Array,
): Uint8Array {
  const b = new Uint8Array(GW_STRUCTS.gw_config.size);
  putIpv4(b, 0, snatIp);
  const dv = new DataView(b.buffer);
  dv.setUint16(4, portMin, true);
  dv.setUint16(6, portMax, true);
  [t.synS, t.establishedS, t.closingS, t.udpS].forEach((s, i) => dv.setUint32(12 + i * 4, Math.round(s * 1000), true));
  dv.setUint32(32, clockStepMaxMs, true);
  if (running?.length === b.length) {
    b.set(running.subarray(8, 12), 8);
    b.set(running.subarray(28, 32), 28);
  }
  return b;
}
