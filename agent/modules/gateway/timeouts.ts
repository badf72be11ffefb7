// SPDX-License-Identifier: Apache-2.0
/**
 * The gateway's flow timeouts and their bounds (expiry.ts runs them; the
 * agent's flags take them): no imports, so that the configuration can use
 * them anywhere.
 */

/** Seconds a flow may stay idle, by protocol and TCP state. */
export interface FlowTimeouts {
  /** TCP with no reply from the backend yet (a SYN, or its retries). */
  synS: number;
  /** TCP replied, not closing. */
  establishedS: number;
  /** TCP after a FIN each way, or an RST either way. */
  closingS: number;
  udpS: number;
}

/** Cilium's defaults for established TCP (6 h) and closing; conntrack-like for SYN and UDP. */
export const DEFAULT_FLOW_TIMEOUTS: FlowTimeouts = { synS: 60, establishedS: 21600, closingS: 10, udpS: 60 };

/**
 * The least a flag may set: a busy flow's table entry is stamped only when its CPU's cached copy is refreshed
 * (GW_HOP_JIFFIES: up to 2.56 s at HZ=100), and the clock moves once a sweep interval (1 s).
 */
export const MIN_FLOW_TIMEOUT_S = 5;

/** The program compares clock differences as signed 32-bit milliseconds: 7 days stays far below 2^31 ms (24.8 days). */
export const MAX_FLOW_TIMEOUT_S = 7 * 86400;

/**
 * The most entries each flow table may have (--gateway-flow-table-size). One gw_expire run walks both tables
 * whole, in one test run (migration disabled, one RCU read section, the agent's thread waiting): about 0.35 us per
 * live flow up to this size, superlinear past it (cache and TLB misses: 4x the 65,536-flow sweep at 262,144 flows,
 * 12x at 524,288, 44x at 1,048,576, about a second), every sweep interval. Bounding the work per run (a resume
 * point) is not possible with bpf_for_each_map_elem, which always starts at the first bucket.
 */
export const MAX_FLOW_ENTRIES = 1 << 18;

/** Throws unless each flow table's size is within 16-MAX_FLOW_ENTRIES (see there why). */
export function checkFlowEntries(n: number): void {
  if (!(Number.isInteger(n) && n >= 16 && n <= MAX_FLOW_ENTRIES)) {
    throw new Error(
      `gateway: flow table size ${n}: must be within 16-${MAX_FLOW_ENTRIES} (every sweep walks the tables whole in the kernel)`,
    );
  }
}
