// SPDX-License-Identifier: Apache-2.0
/** Synthetic packets for BPF_PROG_TEST_RUN. */

export interface UdpFrameOptions {
  srcMac?: string;
  dstMac?: string;
  srcIp?: string;
  dstIp?: string;
  srcPort?: number;
  dstPort?: number;
  /** UDP payload (default 18 zero bytes: a 60-byte frame). */
  payload?: Uint8Array;
  ttl?: number;
}

function macBytes(mac: string): number[] {
  const b = mac.split(":").map((x) => parseInt(x, 16));
  if (b.length !== 6 || b.some((x) => !(x >= 0 && x <= 255))) throw new Error(`bad MAC ${mac}`);
  return b;
}

function ipBytes(ip: string): number[] {
  const b = ip.split(".").map(Number);
  if (b.length !== 4 || b.some((x) => !(x >= 0 && x <= 255))) throw new Error(`bad IPv4 ${ip}`);
  return b;
}

/** RFC 1071 checksum over `b`. */
export function inetChecksum(b: Uint8Array): number {
  let sum = 0;
  for (let i = 0; i < b.length; i += 2) sum += (b[i] << 8) | (b[i + 1] ?? 0);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * An Ethernet II + IPv4 (20-byte header, checksum set) + UDP (checksum 0,
 * which IPv4 allows) frame. Length = 14 + 20 + 8 + payload.
 */
export function udpFrame(o: UdpFrameOptions = {}): Uint8Array {
  const payload = o.payload ?? new Uint8Array(18);
  const len = 14 + 20 + 8 + payload.length;
  const f = new Uint8Array(len);
  const dv = new DataView(f.buffer);
  f.set(macBytes(o.dstMac ?? "02:e8:00:00:00:02"), 0);
  f.set(macBytes(o.srcMac ?? "02:e8:00:00:00:01"), 6);
  dv.setUint16(12, 0x0800); // ETH_P_IP
  const ip = 14;
  f[ip] = 0x45; // version 4, IHL 5
  f[ip + 1] = 0; // DSCP/ECN
  dv.setUint16(ip + 2, 20 + 8 + payload.length); // total length
  dv.setUint16(ip + 4, 0x1234); // id
  dv.setUint16(ip + 6, 0x4000); // DF
  f[ip + 8] = o.ttl ?? 64;
  f[ip + 9] = 17; // UDP
  f.set(ipBytes(o.srcIp ?? "10.244.250.1"), ip + 12);
  f.set(ipBytes(o.dstIp ?? "10.244.250.2"), ip + 16);
  dv.setUint16(ip + 10, inetChecksum(f.subarray(ip, ip + 20)));
  const udp = ip + 20;
  dv.setUint16(udp, o.srcPort ?? 40000);
  dv.setUint16(udp + 2, o.dstPort ?? 9);
  dv.setUint16(udp + 4, 8 + payload.length);
  dv.setUint16(udp + 6, 0);
  f.set(payload, udp + 8);
  return f;
}

/** Size of struct __sk_buff (linux/bpf.h; 192 bytes since 5.x) and the offset of its ifindex. */
export const SK_BUFF_CTX_SIZE = 192;
export const SK_BUFF_IFINDEX_OFFSET = 40;
/** Offset of struct __sk_buff's ingress_ifindex (test_run sets the skb's input interface from it). */
export const SK_BUFF_INGRESS_IFINDEX_OFFSET = 36;

/** A struct __sk_buff context for test_run with only ifindex set. */
export function skbCtx(ifindex: number): Uint8Array {
  const c = new Uint8Array(SK_BUFF_CTX_SIZE);
  new DataView(c.buffer).setUint32(SK_BUFF_IFINDEX_OFFSET, ifindex, true);
  return c;
}
