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
