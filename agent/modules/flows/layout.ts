// SPDX-License-Identifier: Apache-2.0
/**
 * Mirror of bpf/include/flows.h (layout_test.ts checks it against the BTF of
 * build/bpf/flows.bpf.o).
 */

export const FLOW_KEY_FIELDS: [string, number][] = [
  ["saddr", 0],
  ["daddr", 16],
  ["sport", 32],
  ["dport", 34],
  ["proto", 36],
  ["dir", 37],
  ["pad", 38],
  ["ifindex", 40],
];
export const FLOW_KEY_SIZE = 44;
export const FLOW_VALUE_FIELDS: [string, number][] = [["packets", 0], ["bytes", 8], ["first_seen_ns", 16], [
  "tcp_flags",
  24,
]];
export const FLOW_VALUE_SIZE = 32;
/** Offsets of struct flow_value's u64 fields: values are read in place, a whole table every interval. */
export const FLOW_VALUE_AT = Object.fromEntries(FLOW_VALUE_FIELDS) as Record<
  "packets" | "bytes" | "first_seen_ns" | "tcp_flags",
  number
>;

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

/** 16-byte address as text: IPv4-mapped (::ffff:a.b.c.d) becomes dotted quad. */
export function addrText(b: Uint8Array): string {
  const v4mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
  if (v4mapped) return `${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((b[i] << 8) | b[i + 1]).toString(16));
  // Compress the longest run of zero groups (RFC 5952).
  let best = -1, bestLen = 0;
  for (let i = 0; i < 8;) {
    if (groups[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === "0") j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return groups.join(":");
  return `${groups.slice(0, best).join(":")}::${groups.slice(best + bestLen).join(":")}`;
}

/**
 * IPv4 addresses as text, remembered: the same few pod addresses appear in
 * every read of the flow table, so their strings are made once (bounded).
 */
const v4Text = new Map<number, string>();
function addrAt(k: Uint8Array, off: number): string {
  const dv = new DataView(k.buffer, k.byteOffset + off, 16);
  if (dv.getUint32(0) !== 0 || dv.getUint32(4) !== 0 || dv.getUint32(8) !== 0xffff) {
    return addrText(k.subarray(off, off + 16));
  }
  const n = dv.getUint32(12);
  let text = v4Text.get(n);
  if (text === undefined) {
    if (v4Text.size >= 65536) v4Text.clear();
    text = addrText(k.subarray(off, off + 16));
    v4Text.set(n, text);
  }
  return text;
}

export function decodeFlowKey(k: Uint8Array): FlowKey {
  return decodeFlowKeyInto(k, { saddr: "", daddr: "", sport: 0, dport: 0, proto: 0, dir: 0, ifindex: 0 });
}

/** decodeFlowKey into an existing object (read in a loop over a whole table). */
export function decodeFlowKeyInto<T extends FlowKey>(k: Uint8Array, into: T): T {
  const dv = new DataView(k.buffer, k.byteOffset, k.byteLength);
  into.saddr = addrAt(k, 0);
  into.daddr = addrAt(k, 16);
  into.sport = dv.getUint16(32, true);
  into.dport = dv.getUint16(34, true);
  into.proto = k[36];
  into.dir = k[37];
  into.ifindex = dv.getUint32(40, true);
  return into;
}

/** A key's bytes (IPv4 addresses only; for tests and benchmarks). */
export function encodeFlowKey(f: FlowKey): Uint8Array {
  const k = new Uint8Array(FLOW_KEY_SIZE);
  const dv = new DataView(k.buffer);
  const v4 = (text: string, off: number) => {
    k.set([0xff, 0xff], off + 10);
    k.set(text.split(".").map(Number), off + 12);
  };
  v4(f.saddr, 0);
  v4(f.daddr, 16);
  dv.setUint16(32, f.sport, true);
  dv.setUint16(34, f.dport, true);
  k[36] = f.proto;
  k[37] = f.dir;
  dv.setUint32(40, f.ifindex, true);
  return k;
}
