// SPDX-License-Identifier: Apache-2.0
/**
 * Mirror of bpf/include/tcp.h (layout_test.ts checks it against the BTF of
 * build/bpf/tcp.bpf.o).
 */
import { addrText } from "../flows/layout.ts";

export const TCP_KEY_FIELDS: [string, number][] = [["netns_ino", 0], ["laddr", 4], ["raddr", 20], ["port", 36], [
  "role",
  38,
], ["pad", 39]];
export const TCP_KEY_SIZE = 40;
export const TCP_STATS_FIELDS = [
  "opened",
  "failed_refused",
  "failed_timeout",
  "failed_other",
  "closed",
  "duration_ns",
  "retransmits",
  "resets_rx",
  "resets_tx",
  "srtt_us_sum",
  "srtt_samples",
] as const;
export const TCP_STATS_SIZE = TCP_STATS_FIELDS.length * 8;
export const TCP_ROLES = ["client", "server", "unknown"] as const;

export interface TcpKey {
  netnsIno: number;
  laddr: string;
  raddr: string;
  port: number;
  role: (typeof TCP_ROLES)[number];
}

export type TcpStats = Record<(typeof TCP_STATS_FIELDS)[number], number>;

export function decodeTcpKey(k: Uint8Array): TcpKey {
  const dv = new DataView(k.buffer, k.byteOffset, k.byteLength);
  return {
    netnsIno: dv.getUint32(0, true),
    laddr: addrText(k.subarray(4, 20)),
    raddr: addrText(k.subarray(20, 36)),
    port: dv.getUint16(36, true),
    role: TCP_ROLES[k[38]] ?? "unknown",
  };
}

export function decodeTcpStats(v: Uint8Array): TcpStats {
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  return Object.fromEntries(TCP_STATS_FIELDS.map((f, i) => [f, Number(dv.getBigUint64(i * 8, true))])) as TcpStats;
}
