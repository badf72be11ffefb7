// SPDX-License-Identifier: Apache-2.0
/**
 * IPv4 frames for the gateway's packet fixtures and bench: TCP, UDP and ICMP
 * errors, with IP options and fragment fields, every checksum computed in
 * full (so that a translated packet, updated incrementally by the program,
 * can be compared byte for byte with one built afresh).
 */
import { inetChecksum } from "../../testing/packets.ts";

export const XDP = { ABORTED: 0, DROP: 1, PASS: 2, TX: 3, REDIRECT: 4 } as const;

export interface FrameOptions {
  src: string;
  dst: string;
  proto: "tcp" | "udp" | "icmp";
  sport?: number;
  dport?: number;
  ttl?: number;
  /** IP options (a multiple of 4 bytes, at most 40). */
  options?: Uint8Array;
  /** Fragment offset in 8-byte units, and more-fragments. */
  fragOffset?: number;
  moreFragments?: boolean;
  payload?: Uint8Array;
  /** UDP: send checksum 0 (none) instead of computing it. */
  noUdpChecksum?: boolean;
  /** TCP flags byte (SYN by default). */
  tcpFlags?: number;
  /** ICMP: type, code, and the quoted packet (an IPv4 header and 8 bytes of L4). */
  icmp?: { type: number; code: number; quoted: Uint8Array };
  srcMac?: string;
  dstMac?: string;
}

const macBytes = (mac: string) => mac.split(":").map((x) => parseInt(x, 16));
export const ipBytes = (ip: string) => ip.split(".").map(Number);

function sum16(b: Uint8Array, init = 0): number {
  let s = init;
  for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
  return s;
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** An Ethernet + IPv4 frame. */
export function frame(o: FrameOptions): Uint8Array {
  const opts = o.options ?? new Uint8Array(0);
  const ihl = 20 + opts.length;
  const payload = o.payload ?? new Uint8Array(0);
  let l4: Uint8Array;
  if (o.proto === "tcp") {
    l4 = new Uint8Array(20 + payload.length);
    const dv = new DataView(l4.buffer);
    dv.setUint16(0, o.sport ?? 40000);
    dv.setUint16(2, o.dport ?? 80);
    dv.setUint32(4, 0x01020304);
    dv.setUint32(8, 0);
    l4[12] = 5 << 4;
    l4[13] = o.tcpFlags ?? 0x02;
    dv.setUint16(14, 64240);
    l4.set(payload, 20);
  } else if (o.proto === "udp") {
    l4 = new Uint8Array(8 + payload.length);
    const dv = new DataView(l4.buffer);
    dv.setUint16(0, o.sport ?? 40000);
    dv.setUint16(2, o.dport ?? 53);
    dv.setUint16(4, l4.length);
    l4.set(payload, 8);
  } else {
    const q = o.icmp!;
    l4 = new Uint8Array(8 + q.quoted.length);
    l4[0] = q.type;
    l4[1] = q.code;
    new DataView(l4.buffer).setUint16(6, 1400); // next-hop MTU (frag needed)
    l4.set(q.quoted, 8);
  }
  const f = new Uint8Array(14 + ihl + l4.length);
  const dv = new DataView(f.buffer);
  f.set(macBytes(o.dstMac ?? "02:e8:00:00:00:02"), 0);
  f.set(macBytes(o.srcMac ?? "02:e8:00:00:00:01"), 6);
  dv.setUint16(12, 0x0800);
  const ip = 14;
  f[ip] = 0x40 | (ihl / 4);
  dv.setUint16(ip + 2, ihl + l4.length);
  dv.setUint16(ip + 4, 0x4242);
  dv.setUint16(
    ip + 6,
    ((o.moreFragments ? 0x2000 : 0) | (o.fragOffset ?? 0)) ||
      (o.fragOffset === undefined && !o.moreFragments ? 0x4000 : 0),
  );
  f[ip + 8] = o.ttl ?? 64;
  f[ip + 9] = o.proto === "tcp" ? 6 : o.proto === "udp" ? 17 : 1;
  f.set(ipBytes(o.src), ip + 12);
  f.set(ipBytes(o.dst), ip + 16);
  f.set(opts, ip + 20);
  dv.setUint16(ip + 10, inetChecksum(f.subarray(ip, ip + ihl)));
  const at = ip + ihl;
  f.set(l4, at);
  if (o.proto === "icmp") {
    dv.setUint16(at + 2, inetChecksum(f.subarray(at)));
  } else if (!(o.proto === "udp" && o.noUdpChecksum)) {
    const pseudo = new Uint8Array(12);
    pseudo.set(ipBytes(o.src), 0);
    pseudo.set(ipBytes(o.dst), 4);
    pseudo[9] = f[ip + 9]!;
    new DataView(pseudo.buffer).setUint16(10, l4.length);
    let c = fold(sum16(f.subarray(at), sum16(pseudo)));
    if (o.proto === "udp" && c === 0) c = 0xffff;
    dv.setUint16(at + (o.proto === "tcp" ? 16 : 6), c);
  }
  return f;
}

/** What an ICMP error quotes of a frame: its IPv4 header (20 bytes) and the first 8 bytes after it. */
export function quote(f: Uint8Array): Uint8Array {
  return f.slice(14, 14 + 28);
}

/** The source and destination ports of a frame with a 20-byte IPv4 header. */
export function portsOf(f: Uint8Array, ihl = 20): [number, number] {
  const dv = new DataView(f.buffer, f.byteOffset);
  return [dv.getUint16(14 + ihl), dv.getUint16(14 + ihl + 2)];
}

export function ipAt(f: Uint8Array, off: number): string {
  return `${f[off]}.${f[off + 1]}.${f[off + 2]}.${f[off + 3]}`;
}

/** struct xdp_md for test_run: the frame's bounds and an ingress interface. */
export function xdpCtx(frameLength: number, ingressIfindex: number): Uint8Array {
  const c = new Uint8Array(24);
  const dv = new DataView(c.buffer);
  dv.setUint32(4, frameLength, true); // data_end
  dv.setUint32(12, ingressIfindex, true);
  return c;
}
