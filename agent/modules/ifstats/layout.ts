// SPDX-License-Identifier: Apache-2.0
/**
 * Mirror of bpf/include/ifstats.h. layout_test.ts checks these offsets and
 * sizes against the BTF of the compiled object, so the two cannot drift.
 */

/** struct if_counters: five __u64, in this order. */
export const IF_COUNTERS_FIELDS = ["rx_packets", "rx_bytes", "tx_packets", "tx_bytes", "drops"] as const;
export const IF_COUNTERS_SIZE = IF_COUNTERS_FIELDS.length * 8;

/** struct ifstats_config { __u32 netns_ino; __u32 pad; } */
export const IFSTATS_CONFIG_SIZE = 8;

/** IFSTATS_ARRAY_SLOTS: ifindexes below it live in the per-CPU array. */
export const IFSTATS_ARRAY_SLOTS = 4096;

export interface IfCounters {
  rxPackets: number;
  rxBytes: number;
  txPackets: number;
  txBytes: number;
  drops: number;
}

export const ZERO_COUNTERS: IfCounters = { rxPackets: 0, rxBytes: 0, txPackets: 0, txBytes: 0, drops: 0 };

/** Sums the per-CPU copies of struct if_counters (each slot 8-byte aligned, already). */
export function sumPerCpu(slices: Uint8Array[]): IfCounters {
  const sum = [0n, 0n, 0n, 0n, 0n];
  for (const s of slices) {
    const dv = new DataView(s.buffer, s.byteOffset, s.byteLength);
    for (let f = 0; f < sum.length; f++) sum[f] += dv.getBigUint64(f * 8, true);
  }
  const [rxPackets, rxBytes, txPackets, txBytes, drops] = sum.map(Number);
  return { rxPackets, rxBytes, txPackets, txBytes, drops };
}

export function encodeConfig(netnsIno: number): Uint8Array {
  const b = new Uint8Array(IFSTATS_CONFIG_SIZE);
  new DataView(b.buffer).setUint32(0, netnsIno >>> 0, true);
  return b;
}

/**
 * The kernel's own interface statistics do not all count the same bytes:
 * tc sees skb->len with the Ethernet header, and so do veth and most drivers,
 * but a bridge adds a received frame to rx_bytes after eth_type_trans() has
 * pulled the header (br_pass_frame_up). To agree exactly with `ip -s link`,
 * a bridge's RX bytes drop 14 bytes per packet.
 */
export const ETH_HLEN = 14;
export function asKernelCounts(driver: string | null, c: IfCounters): IfCounters {
  return driver === "bridge" ? { ...c, rxBytes: c.rxBytes - ETH_HLEN * c.rxPackets } : c;
}
