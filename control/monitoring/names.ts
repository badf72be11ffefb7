// SPDX-License-Identifier: Apache-2.0
/**
 * Names of protocol numbers and TCP flags, for the API (lower-case
 * keywords, flag lists) and the pages (display names).
 */

const PROTOCOLS: Record<number, string> = { 1: "ICMP", 6: "TCP", 17: "UDP", 58: "ICMPv6", 132: "SCTP" };

/** IP protocol numbers of the protocols services balance (records carry the number). */
export const IPPROTO = { TCP: 6, UDP: 17 } as const;

/** For people: 6 → "TCP", 47 → "proto 47". */
export function protoName(proto: number): string {
  return PROTOCOLS[proto] ?? `proto ${proto}`;
}

/** The API's `protocol`: "tcp", "udp", "icmp", else the number as a string ("58"). */
export function protocolKeyword(proto: number): string {
  return proto === 1 || proto === 6 || proto === 17 ? PROTOCOLS[proto]!.toLowerCase() : String(proto);
}

/** The inverse of protocolKeyword: "tcp" → 6, "58" → 58; undefined for anything else (a number past 255 too). */
export function protocolOfKeyword(keyword: string): number | undefined {
  if (/^\d{1,3}$/.test(keyword)) return Number(keyword) <= 255 ? Number(keyword) : undefined;
  return [1, 6, 17].find((p) => protocolKeyword(p) === keyword);
}

/** TCP flag bits, lowest first (the order of tcpFlagList). */
const FLAGS = ["FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"] as const;

/** The bit of a TCP flag in an OR of flags: "RST" → 0x04. */
export const tcpFlagBit = (flag: (typeof FLAGS)[number]): number => 1 << FLAGS.indexOf(flag);

/** OR of TCP flags as a list, lowest bit first: 0x13 → ["FIN", "SYN", "ACK"]. */
export function tcpFlagList(flags: number): string[] {
  return FLAGS.filter((_, i) => flags & (1 << i));
}

/** OR of TCP flags as names: 0x12 → "SYN ACK". */
export function tcpFlagNames(flags: number): string {
  return tcpFlagList(flags).join(" ");
}
