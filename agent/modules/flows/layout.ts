/**
 * Mirror of bpf/include/flows.h (layout_test.ts checks it against the BTF of
 * build/bpf/flows.bpf.o).
 */

export const FLOW_KEY_FIELDS: [string, number][] = [
  ["saddr", 0], ["daddr", 16], ["sport", 32], ["dport", 34], ["proto", 36], ["dir", 37], ["pad", 38], ["ifindex", 40],
];
export const FLOW_KEY_SIZE = 44;
export const FLOW_VALUE_FIELDS: [string, number][] = [
  ["packets", 0], ["bytes", 8], ["first_seen_ns", 16], ["last_seen_ns", 24], ["tcp_flags", 32],
];
export const FLOW_VALUE_SIZE = 40;

/** FLOW_FLAG_SYN_ONLY: a SYN without ACK went this way, so its sender is the client. */
export const FLOW_FLAG_SYN_ONLY = 0x100;
export const FLOW_DIR_INGRESS = 0;
export const FLOW_DIR_EGRESS = 1;
export const FLOW_STAT = { created: 0, createFailed: 1, nonIp: 2 } as const;
export const FLOW_STAT_SLOTS = 4;

export interface FlowKey {
  saddr: string;
  daddr: string;
  sport: number;
  dport: number;
  proto: number;
  dir: number;
  ifindex: number;
}

export interface FlowValue {
  packets: number;
  bytes: number;
  firstSeenNs: bigint;
  lastSeenNs: bigint;
  tcpFlags: number;
}

/** 16-byte address as text: IPv4-mapped (::ffff:a.b.c.d) becomes dotted quad. */
export function addrText(b: Uint8Array): string {
  const v4mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (v4mapped) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== "0") { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen && j - i > 1) { best = i; bestLen = j - i; }
    i = j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

export function decodeFlowKey(k: Uint8Array): FlowKey {
  const dv = new DataView(k.buffer, k.byteOffset, k.byteLength);
  return {
    saddr: addrText(k.subarray(0, 16)),
    daddr: addrText(k.subarray(16, 32)),
    sport: dv.getUint16(32, true),
    dport: dv.getUint16(34, true),
    proto: k[36],
    dir: k[37],
    ifindex: dv.getUint32(40, true),
  };
}

export function decodeFlowValue(v: Uint8Array): FlowValue {
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  return {
    packets: Number(dv.getBigUint64(0, true)),
    bytes: Number(dv.getBigUint64(8, true)),
    firstSeenNs: dv.getBigUint64(16, true),
    lastSeenNs: dv.getBigUint64(24, true),
    tcpFlags: Number(dv.getBigUint64(32, true) & 0x1ffn), // the 8 TCP flags and FLOW_FLAG_SYN_ONLY
  };
}
