// SPDX-License-Identifier: Apache-2.0
/**
 * Mirror of bpf/include/lb.h (layout_test.ts checks it against the BTF of
 * build/bpf/sock_lb.bpf.o, and the limits against control/wire/services.ts).
 * Addresses and ports are stored in network byte order.
 */
import type { LbProtocol } from "../../../control/wire/services.ts";

/** enum ek8s_lb_limits */
export const LB_LIMITS = {
  LB_MAX_SERVICES: 65535,
  LB_MAX_BACKENDS: 262143,
  LB_MAGLEV_CHUNK: 16,
  LB_MAGLEV_DEFAULT_CHUNKS: 262144,
  LB_AFFINITY_DEFAULT_ENTRIES: 65536,
  LB_REVERSE_DEFAULT_ENTRIES: 65536,
} as const;
export const LB_MAGLEV_CHUNK = LB_LIMITS.LB_MAGLEV_CHUNK;

/** enum ek8s_lb_svc_flags */
export const LB_SVC_F_AFFINITY = 1;

/** enum ek8s_lb_backend_state */
export const BACKEND_STATE = { none: 0, active: 1, terminating: 2, unhealthy: 3 } as const;

export const IPPROTO = { TCP: 6, UDP: 17 } as const satisfies Record<LbProtocol, number>;

export const STRUCTS = {
  lb_svc_key: { fields: [["vip", 0], ["port", 4], ["proto", 6], ["pad", 7]], size: 8 },
  lb_svc: {
    fields: [
      ["vip", 0],
      ["port", 4],
      ["proto", 6],
      ["flags", 7],
      ["id", 8],
      ["table_offset", 12],
      ["table_size", 16],
      ["gen", 20],
      ["affinity_timeout_s", 24],
      ["check", 28],
    ],
    size: 32,
  },
  lb_backend: { fields: [["ip", 0], ["port", 4], ["state", 6], ["pad", 7]], size: 8 },
  lb_maglev_chunk: { fields: [["ids", 0]], size: 4 * LB_MAGLEV_CHUNK },
  lb_affinity_key: { fields: [["netns_cookie", 0], ["service_id", 8], ["pad", 12]], size: 16 },
  lb_affinity: { fields: [["backend_id", 0], ["gen", 4], ["last_use_ns", 8]], size: 16 },
  lb_reverse_key: { fields: [["cookie", 0], ["ip", 8], ["port", 12], ["pad", 14]], size: 16 },
  lb_reverse: { fields: [["vip", 0], ["port", 4], ["pad", 6]], size: 8 },
  lb_svc_stats: { fields: [["connections", 0], ["refused", 8]], size: 16 },
  lb_backend_stats: { fields: [["connections", 0]], size: 8 },
} as const satisfies Record<string, { fields: readonly (readonly [string, number])[]; size: number }>;

export const SVC_KEY_SIZE = STRUCTS.lb_svc_key.size;
export const SVC_SIZE = STRUCTS.lb_svc.size;
export const BACKEND_SIZE = STRUCTS.lb_backend.size;
export const CHUNK_SIZE = STRUCTS.lb_maglev_chunk.size;
export const SVC_STATS_SIZE = STRUCTS.lb_svc_stats.size;
export const BACKEND_STATS_SIZE = STRUCTS.lb_backend_stats.size;

/** A frontend: the key of lb_services. */
export interface Frontend {
  vip: string;
  port: number;
  protocol: LbProtocol;
}

/** A value of lb_services (without the key it repeats and the check word). */
export interface SvcValue {
  id: number;
  /** First slot in the pool (a multiple of LB_MAGLEV_CHUNK). */
  offset: number;
  /** Slots; 0: refuses. */
  size: number;
  flags: number;
  gen: number;
  timeoutS: number;
}

/** A value of lb_backends. */
export interface BackendValue {
  ip: string;
  port: number;
  /** BACKEND_STATE */
  state: number;
}

export function frontendKey(f: Frontend): string {
  return `${f.vip}:${f.port}/${f.protocol}`;
}

/** Dotted quad to its 4 bytes in network order, at `off`. */
export function putIpv4(b: Uint8Array, off: number, ip: string): void {
  const parts = ip.split(".");
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${ip}`);
  for (let i = 0; i < 4; i++) {
    const n = Number(parts[i]);
    if (!Number.isInteger(n) || n < 0 || n > 255) throw new Error(`not an IPv4 address: ${ip}`);
    b[off + i] = n;
  }
}

export function ipv4At(b: Uint8Array, off: number): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

function putPort(b: Uint8Array, off: number, port: number): void {
  b[off] = port >> 8;
  b[off + 1] = port & 0xff;
}

function portAt(b: Uint8Array, off: number): number {
  return (b[off] << 8) | b[off + 1];
}

const PROTOCOL_OF = new Map<number, LbProtocol>([[IPPROTO.TCP, "TCP"], [IPPROTO.UDP, "UDP"]]);

/** struct lb_svc_key at `off` of `b`. */
export function encodeSvcKey(f: Frontend, b = new Uint8Array(SVC_KEY_SIZE), off = 0): Uint8Array {
  putIpv4(b, off, f.vip);
  putPort(b, off + 4, f.port);
  b[off + 6] = IPPROTO[f.protocol];
  b[off + 7] = 0;
  return b;
}

export function decodeSvcKey(b: Uint8Array, off = 0): Frontend | null {
  const protocol = PROTOCOL_OF.get(b[off + 6]);
  return protocol ? { vip: ipv4At(b, off), port: portAt(b, off + 4), protocol } : null;
}

/** struct lb_svc at `off` of `b`, with its key and check word. */
export function encodeSvc(f: Frontend, v: SvcValue, b = new Uint8Array(SVC_SIZE), off = 0): Uint8Array {
  encodeSvcKey(f, b, off); // the value starts with the key's bytes, flags in the key's pad byte
  b[off + 7] = v.flags;
  const dv = new DataView(b.buffer, b.byteOffset + off, SVC_SIZE);
  dv.setUint32(8, v.id, true);
  dv.setUint32(12, v.offset, true);
  dv.setUint32(16, v.size, true);
  dv.setUint32(20, v.gen, true);
  dv.setUint32(24, v.timeoutS, true);
  dv.setUint32(28, svcCheck(dv), true);
  return b;
}

/** A service value, or null when its key or check word does not hold (never written whole). */
export function decodeSvc(b: Uint8Array, off = 0): { frontend: Frontend; value: SvcValue } | null {
  const dv = new DataView(b.buffer, b.byteOffset + off, SVC_SIZE);
  const frontend = decodeSvcKey(b, off);
  if (!frontend || dv.getUint32(28, true) !== svcCheck(dv)) return null;
  return {
    frontend,
    value: {
      id: dv.getUint32(8, true),
      offset: dv.getUint32(12, true),
      size: dv.getUint32(16, true),
      flags: b[off + 7],
      gen: dv.getUint32(20, true),
      timeoutS: dv.getUint32(24, true),
    },
  };
}

const CHECK_SEED = 0x6c62;

/** lb_svc_check() of lb.h: FNV-1a over the first seven little-endian 32-bit words. */
export function svcCheck(dv: DataView): number {
  let h = (2166136261 ^ CHECK_SEED) >>> 0;
  for (let i = 0; i < 7; i++) {
    h = (h ^ dv.getUint32(i * 4, true)) >>> 0;
    h = Math.imul(h, 16777619) >>> 0;
  }
  return h;
}

/** struct lb_backend at `off` of `b`; null clears the slot. */
export function encodeBackend(v: BackendValue | null, b = new Uint8Array(BACKEND_SIZE), off = 0): Uint8Array {
  if (!v) {
    b.fill(0, off, off + BACKEND_SIZE);
    return b;
  }
  putIpv4(b, off, v.ip);
  putPort(b, off + 4, v.port);
  b[off + 6] = v.state;
  b[off + 7] = 0;
  return b;
}

/** A backend slot, or null when it is empty. */
export function decodeBackend(b: Uint8Array, off = 0): BackendValue | null {
  if (!b[off] && !b[off + 1] && !b[off + 2] && !b[off + 3]) return null;
  return { ip: ipv4At(b, off), port: portAt(b, off + 4), state: b[off + 6] };
}
