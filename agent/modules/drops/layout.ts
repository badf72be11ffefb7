/**
 * Mirror of bpf/include/drops.h (layout_test.ts checks it against the BTF of
 * build/bpf/drops.bpf.o). Reasons are the kernel's enum skb_drop_reason,
 * named at run time from the kernel's BTF (agent/btf/enums.ts).
 */
export const DROP_KEY_FIELDS: [string, number][] = [["netns_ino", 0], ["ifindex", 4], ["reason", 8], ["pad", 12]];
export const DROP_KEY_SIZE = 16;
export const DROP_VALUE_FIELDS: [string, number][] = [["packets", 0], ["bytes", 8]];
export const DROP_VALUE_SIZE = 16;

export interface DropKey {
  netnsIno: number;
  ifindex: number;
  reason: number;
}

export function decodeDropKey(k: Uint8Array): DropKey {
  const dv = new DataView(k.buffer, k.byteOffset, k.byteLength);
  return { netnsIno: dv.getUint32(0, true), ifindex: dv.getUint32(4, true), reason: dv.getUint32(8, true) };
}
