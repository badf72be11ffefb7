// SPDX-License-Identifier: Apache-2.0
/**
 * Mirror of bpf/include/drops.h (layout_test.ts checks it against the BTF of
 * build/bpf/drops.bpf.o). Reasons are the kernel's enum skb_drop_reason,
 * named at run time from the kernel's BTF (agent/btf/enums.ts).
 */
export const DROP_KEY_FIELDS: [string, number][] = [["netns_ino", 0], ["ifindex", 4], ["reason", 8], ["service", 12]];
export const DROP_KEY_SIZE = 16;
export const DROP_VALUE_FIELDS: [string, number][] = [["packets", 0], ["bytes", 8]];
export const DROP_VALUE_SIZE = 16;

/** drop_endpoints: keyed by struct lb_svc_key (agent/modules/lb/layout.ts encodeSvcKey), values a u32 service id. */
export const DROP_ENDPOINT_VALUE_SIZE = 4;
/** = DROP_ENDPOINTS_DEFAULT_ENTRIES of drops.h: every frontend and backend of a few thousand services. */
export const DROP_ENDPOINTS_DEFAULT_ENTRIES = 65536;

export interface DropKey {
  netnsIno: number;
  ifindex: number;
  reason: number;
  /** The lb service id of the packet's destination or source; 0: none. */
  service: number;
}

export function decodeDropKey(k: Uint8Array): DropKey {
  const dv = new DataView(k.buffer, k.byteOffset, k.byteLength);
  return {
    netnsIno: dv.getUint32(0, true),
    ifindex: dv.getUint32(4, true),
    reason: dv.getUint32(8, true),
    service: dv.getUint32(12, true),
  };
}
