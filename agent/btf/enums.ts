// SPDX-License-Identifier: Apache-2.0
/**
 * Reads enum members from raw BTF (the kernel's /sys/kernel/btf/vmlinux), so
 * that names such as skb_drop_reason's come from the running kernel rather
 * than from a table copied out of some kernel version's headers.
 * Format: Documentation/bpf/btf.rst ("BTF Type and String Encoding").
 */
import { readKernelBytes } from "../libbpf/fs.ts";

const BTF_MAGIC = 0xeb9f;
const KIND_ENUM = 6;
const KIND_ENUM64 = 19;

/** Bytes that follow the 12-byte struct btf_type, by kind. */
function extraSize(kind: number, vlen: number): number {
  switch (kind) {
    case 1:
      return 4; // INT
    case 3:
      return 12; // ARRAY
    case 4:
    case 5:
      return vlen * 12; // STRUCT, UNION
    case 6:
      return vlen * 8; // ENUM
    case 13:
      return vlen * 8; // FUNC_PROTO
    case 14:
      return 4; // VAR
    case 15:
      return vlen * 12; // DATASEC
    case 17:
      return 4; // DECL_TAG
    case 19:
      return vlen * 12; // ENUM64
    case 2:
    case 7:
    case 8:
    case 9:
    case 10:
    case 11:
    case 12:
    case 16:
    case 18:
      return 0;
    default:
      throw new Error(`BTF: unknown type kind ${kind}`);
  }
}

/** value -> name of every member of the named enum; null when the BTF has no such enum. */
export function enumMembers(btf: Uint8Array, enumName: string): Map<number, string> | null {
  const dv = new DataView(btf.buffer, btf.byteOffset, btf.byteLength);
  if (dv.getUint16(0, true) !== BTF_MAGIC) throw new Error("not BTF (bad magic)");
  const hdrLen = dv.getUint32(4, true);
  const typeOff = hdrLen + dv.getUint32(8, true);
  const typeEnd = typeOff + dv.getUint32(12, true);
  const strOff = hdrLen + dv.getUint32(16, true);
  const dec = new TextDecoder();
  const str = (off: number) => {
    const start = strOff + off;
    let end = start;
    while (btf[end] !== 0) end++;
    return dec.decode(btf.subarray(start, end));
  };
  for (let p = typeOff; p < typeEnd;) {
    const nameOff = dv.getUint32(p, true);
    const info = dv.getUint32(p + 4, true);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const body = p + 12;
    if ((kind === KIND_ENUM || kind === KIND_ENUM64) && nameOff && str(nameOff) === enumName) {
      const out = new Map<number, string>();
      const step = kind === KIND_ENUM ? 8 : 12;
      for (let i = 0; i < vlen; i++) {
        const m = body + i * step;
        const value = kind === KIND_ENUM ? dv.getInt32(m + 4, true) : Number(dv.getBigUint64(m + 4, true)); // ENUM64: val_lo32, val_hi32
        out.set(value, str(dv.getUint32(m, true)));
      }
      return out;
    }
    p = body + extraSize(kind, vlen);
  }
  return null;
}

/** "SKB_DROP_REASON_NO_SOCKET" -> "NO_SOCKET": the prefix every member shares carries no information. */
export function dropReasonName(raw: string): string {
  return raw.replace(/^SKB_DROP_REASON_/, "");
}

/**
 * The running kernel's enum skb_drop_reason (value -> name without the
 * SKB_DROP_REASON_ prefix), read once from /sys/kernel/btf/vmlinux through
 * libc (Deno grants /sys only with --allow-all). Empty when the kernel has no
 * BTF or no such enum: reasons are then reported by number.
 */
export function kernelDropReasons(path = "/sys/kernel/btf/vmlinux"): Map<number, string> {
  const members = enumMembers(readKernelBytes(path), "skb_drop_reason");
  return new Map([...(members ?? [])].map(([v, name]) => [v, dropReasonName(name)]));
}
